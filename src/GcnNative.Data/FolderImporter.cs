using System.Diagnostics;
using System.Globalization;
using GcnNative.IO;

namespace GcnNative.Data;

/// <summary>
/// Imports a user's own folder of images described by a CSV manifest (spec section 5.3).
/// </summary>
/// <remarks>
/// <para>Manifest: lines starting with <c>#</c> and blank lines are ignored; the first other line
/// is the header <c>path,&lt;feature1&gt;,&lt;feature2&gt;,...</c>; each further line names one
/// image (a path relative to the manifest's folder and inside it, symbolic links included) and its value
/// of every feature. Cells are split on commas and trimmed; quoting is not supported, so paths
/// and values cannot contain commas.</para>
/// <para>Classes of a feature are its distinct values, sorted: numerically when every value is an
/// integer, else by ordinal (byte-wise) string order. Labels are indices into that order.</para>
/// <para>Images: PNG or JPEG only, decoded safely (<see cref="ImageIO.LoadImageRgb"/>); a
/// non-square image is centre-cropped to a square (side = its shorter side), then resized to
/// size x size (default: the first image's square side) with an area-weighted filter; always 3
/// channels (grey images become three equal planes). Image order follows the manifest. When any
/// image was not already size x size, one log line says how many were resized and from which sizes.</para>
/// <para>A <c>heldout.csv</c> beside the manifest is validated against the features and copied;
/// without one nothing is held out.</para>
/// <para>Bad rows (wrong cell count, empty path, bad value, missing file, undecodable image) are
/// each reported as <c>manifest.csv:LINE: problem, expected ...</c>; by default any bad row stops
/// the import with a <see cref="GcnDataException"/> listing them, with <c>skipBadRows</c> they
/// are logged and left out.</para>
/// </remarks>
public static class FolderImporter
{
    /// <summary>Largest accepted output side.</summary>
    public const int MaxSize = 1024;

    /// <summary>
    /// Imports the images listed in <paramref name="manifestCsv"/> into <paramref name="outDir"/>.
    /// </summary>
    /// <param name="manifestCsv">The CSV manifest.</param>
    /// <param name="outDir">Dataset folder to write (atomically); its name becomes the dataset name.</param>
    /// <param name="size">Output side; default the first usable image's square side.</param>
    /// <param name="log">Receives a summary; may be null.</param>
    /// <param name="skipBadRows">Skip and log bad rows instead of failing.</param>
    /// <exception cref="GcnDataException">Missing manifest, bad header, bad rows (unless skipped), no usable row, bad heldout.csv.</exception>
    public static Dataset Import(string manifestCsv, string outDir, int? size = null, TextWriter? log = null, bool skipBadRows = false)
    {
        var watch = Stopwatch.StartNew();
        log ??= TextWriter.Null;
        if (size is < 1 or > MaxSize) throw new GcnDataException($"{manifestCsv}: size is {size}, expected 1..{MaxSize} pixels");
        if (!File.Exists(manifestCsv)) throw new GcnDataException(manifestCsv, "manifest not found, expected a CSV file with header path,<feature1>,<feature2>,...");
        string fileName = Path.GetFileName(manifestCsv);
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(manifestCsv))!;
        string[] lines = File.ReadAllLines(manifestCsv);

        string[]? header = null;
        var rows = new List<Row>();
        var bad = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] cells = line.Split(',').Select(c => c.Trim()).ToArray();
            string where = $"{fileName}:{i + 1}";
            if (header == null)
            {
                header = ParseHeader(cells, where);
                continue;
            }
            string expected = $"expected {header.Length} ({string.Join(",", header)})";
            if (cells.Length != header.Length) { bad.Add($"{where}: has {cells.Length} cells, {expected}"); continue; }
            if (cells[0].Length == 0) { bad.Add($"{where}: the path cell is empty, expected an image file name"); continue; }
            string? problem = null;
            for (int c = 1; c < cells.Length && problem == null; c++)
                if (DatasetFeature.CheckName(cells[c]) is { } why)
                    problem = $"{where}: column {c + 1} ({header[c]}): value '{cells[c]}' {why}, expected a class name";
            if (problem != null) { bad.Add(problem); continue; }
            string full = Path.GetFullPath(Path.Combine(baseDir, cells[0]));
            if (Path.IsPathRooted(cells[0]) || !full.StartsWith(baseDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                bad.Add($"{where}: path '{cells[0]}' leads outside the manifest's folder, expected a path relative to it and inside it");
                continue;
            }
            if (!File.Exists(full)) { bad.Add($"{where}: file '{cells[0]}' not found (looked for {full}), expected an image relative to the manifest's folder"); continue; }
            if (!SymbolicLinks.LeadsInside(baseDir, full))
            {
                bad.Add($"{where}: path '{cells[0]}' is a symbolic link (or goes through one) to {SymbolicLinks.RealPath(full)}, " +
                        "outside the manifest's folder; expected an image inside it");
                continue;
            }
            rows.Add(new Row(i + 1, full, cells[0], cells.Skip(1).ToArray()));
        }
        if (header == null) throw new GcnDataException(manifestCsv, "has no header line, expected path,<feature1>,<feature2>,...");

        // Output size: the first usable image's square side.
        int side = size ?? 0;
        if (side == 0)
            foreach (Row r in rows)
            {
                try { ImageHeader h = ImageIO.Identify(r.Full); side = Math.Min(h.Width, h.Height); break; }
                catch (GcnDataException) { /* reported below when the row is decoded */ }
            }
        side = Math.Clamp(side, 1, MaxSize);

        var decoded = new (byte[]? Pixels, string? Size, string? Problem)[rows.Count];
        Parallel.For(0, rows.Count, i =>
        {
            try
            {
                var image = ImageIO.LoadImageRgb(rows[i].Full);
                decoded[i] = (ImageResample.CenterSquare(image, side), $"{image.Width}x{image.Height}", null);
            }
            catch (GcnDataException ex)
            {
                string msg = ex.Message.StartsWith(rows[i].Full + ": ", StringComparison.Ordinal) ? ex.Message[(rows[i].Full.Length + 2)..] : ex.Message;
                decoded[i] = (null, null, $"{fileName}:{rows[i].Line}: image '{rows[i].Written}': {msg}");
            }
        });
        var good = new List<(Row Row, byte[] Pixels)>();
        var resized = new List<string>();
        for (int i = 0; i < rows.Count; i++)
        {
            if (decoded[i].Pixels is not { } px) { bad.Add(decoded[i].Problem!); continue; }
            good.Add((rows[i], px));
            if (decoded[i].Size != $"{side}x{side}") resized.Add(decoded[i].Size!);
        }
        bad.Sort((a, b) => LineOf(a).CompareTo(LineOf(b)));

        if (bad.Count > 0)
        {
            if (!skipBadRows)
                throw new GcnDataException($"{manifestCsv}: {bad.Count} bad row{(bad.Count == 1 ? "" : "s")}: " +
                    string.Join("; ", bad.Take(5)) + (bad.Count > 5 ? $"; ... and {bad.Count - 5} more" : ""));
            log.WriteLine($"folder: skipped {bad.Count} bad rows:");
            foreach (string b in bad) log.WriteLine("folder:   " + b);
        }
        if (good.Count == 0) throw new GcnDataException(manifestCsv, "no usable image rows, expected lines like faces/a.png,<value>,...");

        var features = new DatasetFeature[header.Length - 1];
        for (int f = 0; f < features.Length; f++)
            features[f] = new DatasetFeature(header[f + 1], SortValues(good.Select(g => g.Row.Values[f]).Distinct()));
        int imageSize = 3 * side * side;
        var pixels = new byte[(long)good.Count * imageSize];
        var labels = new int[good.Count][];
        for (int i = 0; i < good.Count; i++)
        {
            good[i].Pixels.CopyTo(pixels, (long)i * imageSize);
            labels[i] = features.Select((f, k) => f.IndexOf(good[i].Row.Values[k])).ToArray();
        }
        string heldoutPath = Path.Combine(baseDir, Dataset.HeldoutFile);
        HeldoutSplit heldout = File.Exists(heldoutPath)
            ? HeldoutSplit.Parse(File.ReadAllText(heldoutPath), features, heldoutPath)
            : HeldoutSplit.Empty(features);
        string name = Path.GetFileName(Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (DatasetFeature.CheckName(name) != null) name = "folder";
        var dataset = new Dataset(name, 3, side, side, features, pixels, labels, heldout);
        Dataset.Save(outDir, dataset);
        if (resized.Count > 0) log.WriteLine(ResizedLine(resized, good.Count, side, size is null));
        log.WriteLine($"folder: imported {dataset.Count} images 3x{side}x{side} from {manifestCsv} " +
            $"({string.Join(", ", features.Select(f => $"{f.Name} {f.Count}"))}), " +
            $"{dataset.HeldOutIndices().Length} held out ({(File.Exists(heldoutPath) ? "heldout.csv" : "no heldout.csv")}), " +
            $"to {Path.GetFullPath(outDir)} in {watch.Elapsed.TotalSeconds:F1} s");
        return dataset;
    }

    private sealed record Row(int Line, string Full, string Written, string[] Values);

    /// <summary>
    /// "folder: resized 2 of 3 images to 12x12 (from 18x12 x1, 24x24 x1; ...)": an import that
    /// changes images says so, the most common source sizes first.
    /// </summary>
    private static string ResizedLine(List<string> sizes, int count, int side, bool defaultSide)
    {
        var groups = sizes.GroupBy(s => s).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        string from = string.Join(", ", groups.Take(5).Select(g => $"{g.Key} x{g.Count()}"))
                      + (groups.Count > 5 ? $", and {groups.Count - 5} more sizes" : "");
        return $"folder: resized {sizes.Count} of {count} images to {side}x{side} (from {from}; non-square ones centre-cropped first)" +
               (defaultSide ? $"; {side} is the first image's shorter side, --size S chooses another" : "");
    }

    private static string[] ParseHeader(string[] cells, string where)
    {
        if (!string.Equals(cells[0], "path", StringComparison.OrdinalIgnoreCase))
            throw new GcnDataException($"{where}: header starts with '{cells[0]}', expected the column 'path' first (path,<feature1>,<feature2>,...)");
        if (cells.Length < 2)
            throw new GcnDataException($"{where}: header has no feature column, expected path,<feature1>,<feature2>,...");
        var seen = new HashSet<string>(StringComparer.Ordinal) { "index" };
        for (int c = 1; c < cells.Length; c++)
        {
            if (DatasetFeature.CheckName(cells[c]) is { } why)
                throw new GcnDataException($"{where}: column {c + 1}: feature name '{cells[c]}' {why}");
            if (!seen.Add(cells[c]) || string.Equals(cells[c], "path", StringComparison.OrdinalIgnoreCase))
                throw new GcnDataException($"{where}: column {c + 1}: feature name '{cells[c]}' is used twice or is reserved (path, index)");
        }
        cells[0] = "path";
        return cells;
    }

    private static int LineOf(string problem)
    {
        int colon = problem.IndexOf(':'), next = colon < 0 ? -1 : problem.IndexOf(':', colon + 1);
        return next > colon && int.TryParse(problem.AsSpan(colon + 1, next - colon - 1), out int n) ? n : 0;
    }

    /// <summary>Numeric order when every value is an integer, else ordinal string order.</summary>
    internal static string[] SortValues(IEnumerable<string> values)
    {
        string[] v = values.ToArray();
        bool numeric = v.All(s => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _));
        return numeric
            ? v.OrderBy(s => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)).ThenBy(s => s, StringComparer.Ordinal).ToArray()
            : v.OrderBy(s => s, StringComparer.Ordinal).ToArray();
    }
}
