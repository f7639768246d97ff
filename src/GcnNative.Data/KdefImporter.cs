using System.Diagnostics;
using System.Text.RegularExpressions;
using GcnNative.IO;

namespace GcnNative.Data;

/// <summary>
/// A fixed face crop for KDEF photographs, in pixels of the standard 562 x 762 frame. Images of
/// another size get the box scaled proportionally (x by width/562, y by height/762).
/// </summary>
public sealed record KdefCrop(double X, double Y, double Side)
{
    /// <summary>Width of the standard KDEF frame.</summary>
    public const int FrameWidth = 562;
    /// <summary>Height of the standard KDEF frame.</summary>
    public const int FrameHeight = 762;

    /// <summary>
    /// The default box: 400 x 400 at (81, 180), horizontally centred. KDEF photographs were taken
    /// with the eyes and mouth at fixed grid positions, so a fixed box works; this one is our
    /// estimate of a crop from the top of the forehead to below the chin, cheek to cheek, and
    /// can be replaced through the <c>crop</c> argument.
    /// </summary>
    public static KdefCrop Default { get; } = new(81, 180, 400);
}

/// <summary>
/// Imports a user's own copy of KDEF (spec section 5.2; the set may not be redistributed, so it
/// is never shipped) into a <see cref="Dataset"/> with the structure of <see cref="FaceSet"/>.
/// </summary>
/// <remarks>
/// <para>File names: <c>&lt;session A|B&gt;&lt;gender F|M&gt;&lt;id 01-35&gt;&lt;emotion AF AN DI HA NE SA SU&gt;&lt;angle FL HL S HR FR&gt;.jpg</c>,
/// e.g. <c>KDEF/AF01/AF01NES.JPG</c>; any letter case, extensions <c>.jpg</c>, <c>.jpeg</c> (and
/// <c>.png</c>). Every file under the source folder is examined. Only straight views (S) and the
/// requested emotions are used; other angles and emotions are counted, not listed. A person is
/// gender + id (<c>F01</c> .. <c>M35</c>) across both sessions.</para>
/// <para>Features: <c>identity</c> (people found, sorted), <c>emotion</c> (the requested ones, named
/// as in <see cref="FaceSet"/>: AF fear, AN anger, DI aversion, HA happiness, NE neutral, SA sadness,
/// SU surprise), <c>transformation</c> (<see cref="FaceTransforms.Names"/>), <c>session</c> (A, B as
/// found). Image order: person, emotion, session, transformation.</para>
/// <para>Each photograph is cropped with <see cref="KdefCrop"/> and resized to size x size with an
/// area-weighted filter (<see cref="ImageResample"/>), then rotated/mirrored into the eight
/// transformations. Defective files (misnamed, not an image, TIFF/GIF with an image extension,
/// huge headers, truncated or corrupt data, empty, blank placeholders, duplicates) are skipped and
/// every one is listed in the summary written to the log (<see cref="ImportReport"/>).</para>
/// </remarks>
public static class KdefImporter
{
    /// <summary>Dataset name written to <c>dataset.json</c>.</summary>
    public const string DatasetName = "kdef";
    /// <summary>Images larger than this (header) are refused: a KDEF photograph has 0.43 megapixels.</summary>
    public const int MaxPixels = 16_000_000;
    /// <summary>The paper's emotions: NE, DI, HA, SU.</summary>
    public static readonly IReadOnlyList<string> DefaultEmotions = new[] { "NE", "DI", "HA", "SU" };

    /// <summary>KDEF emotion codes and the feature value each becomes.</summary>
    public static readonly IReadOnlyDictionary<string, string> EmotionNames = new Dictionary<string, string>
    {
        ["AF"] = "fear", ["AN"] = "anger", ["DI"] = "aversion", ["HA"] = "happiness",
        ["NE"] = "neutral", ["SA"] = "sadness", ["SU"] = "surprise",
    };

    private static readonly Regex NamePattern = new(
        @"^(?<session>[AB])(?<gender>[FM])(?<id>\d\d)(?<emotion>AF|AN|DI|HA|NE|SA|SU)(?<angle>FL|FR|HL|HR|S)\.(?<ext>jpe?g|png)$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex FolderPattern = new(@"^[AB][FM]\d\d$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png" };

    /// <summary>The result of an import: the saved dataset and what was skipped.</summary>
    public sealed record Result(Dataset Dataset, ImportReport Report);

    /// <summary>
    /// Imports KDEF from <paramref name="sourceDir"/> into <paramref name="outDir"/> and returns the saved dataset.
    /// </summary>
    /// <param name="sourceDir">The KDEF folder (any depth; usually holding AF01 .. BM35).</param>
    /// <param name="outDir">Dataset folder to write (atomically).</param>
    /// <param name="emotions">KDEF codes (NE) or names (neutral), any case, in feature order; default <see cref="DefaultEmotions"/>.</param>
    /// <param name="size">Output side in pixels (default 158).</param>
    /// <param name="log">Receives the summary, including every skipped file; may be null.</param>
    /// <param name="crop">Face box; default <see cref="KdefCrop.Default"/>.</param>
    /// <exception cref="GcnDataException">Source missing, bad arguments, or no usable image.</exception>
    public static Dataset Import(string sourceDir, string outDir, IReadOnlyList<string>? emotions = null, int size = 158,
        TextWriter? log = null, KdefCrop? crop = null) =>
        ImportWithReport(sourceDir, outDir, emotions, size, log, crop).Dataset;

    /// <summary>As <see cref="Import"/>, also returning the report of skipped files.</summary>
    public static Result ImportWithReport(string sourceDir, string outDir, IReadOnlyList<string>? emotions = null, int size = 158,
        TextWriter? log = null, KdefCrop? crop = null)
    {
        var watch = Stopwatch.StartNew();
        log ??= TextWriter.Null;
        crop ??= KdefCrop.Default;
        if (size < 8 || size > 1024) throw new GcnDataException($"kdef: size is {size}, expected 8..1024 pixels");
        if (!(crop.Side > 0)) throw new GcnDataException($"kdef: crop side is {crop.Side}, expected a positive size");
        string[] codes = EmotionCodes(emotions ?? DefaultEmotions);
        if (!Directory.Exists(sourceDir))
            throw new GcnDataException(sourceDir, "KDEF folder not found, expected a folder with files like AF01/AF01NES.JPG");

        var report = new ImportReport();
        string root = Path.GetFullPath(sourceDir);
        string[] files = FilesInside(root, report).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        var candidates = new List<Candidate>();
        foreach (string file in files)
        {
            string rel = Path.GetRelativePath(root, file);
            string name = Path.GetFileName(file);
            if (!ImageExtensions.Contains(Path.GetExtension(name).ToLowerInvariant()))
            {
                report.Skip(ImportReport.NotAnImage, rel, "extension is not .jpg, .jpeg or .png");
                continue;
            }
            Match m = NamePattern.Match(name);
            if (!m.Success)
            {
                report.Skip(ImportReport.Misnamed, rel, "name does not match <A|B><F|M><01-35><AF|AN|DI|HA|NE|SA|SU><FL|HL|S|HR|FR>.jpg");
                continue;
            }
            int id = int.Parse(m.Groups["id"].Value);
            if (id < 1 || id > 35)
            {
                report.Skip(ImportReport.Misnamed, rel, $"person number {m.Groups["id"].Value} is outside 01-35");
                continue;
            }
            string folder = Path.GetFileName(Path.GetDirectoryName(file)!);
            string prefix = name[..4];
            if (FolderPattern.IsMatch(folder) && !string.Equals(folder, prefix, StringComparison.OrdinalIgnoreCase))
            {
                report.Skip(ImportReport.Misnamed, rel, $"name says {prefix.ToUpperInvariant()} but the file is in folder {folder}");
                continue;
            }
            string angle = m.Groups["angle"].Value.ToUpperInvariant();
            if (angle != "S") { report.Ignore("non-straight views"); continue; }
            string emotion = m.Groups["emotion"].Value.ToUpperInvariant();
            int e = Array.IndexOf(codes, emotion);
            if (e < 0) { report.Ignore("straight views of other emotions"); continue; }
            string person = (m.Groups["gender"].Value + m.Groups["id"].Value).ToUpperInvariant();
            candidates.Add(new Candidate(file, rel, person, e, m.Groups["session"].Value.ToUpperInvariant()));
        }

        // Decode and crop in parallel; the choice among duplicates is made afterwards, in path order.
        var loaded = new (byte[]? Pixels, string? Category, string? Reason)[candidates.Count];
        Parallel.For(0, candidates.Count, i => loaded[i] = Load(candidates[i].Path, size, crop));

        var chosen = new SortedDictionary<(string Person, int Emotion, string Session), byte[]>();
        var keptFrom = new Dictionary<(string, int, string), string>();
        for (int i = 0; i < candidates.Count; i++)
        {
            Candidate c = candidates[i];
            var (pixels, category, reason) = loaded[i];
            if (pixels == null) { report.Skip(category!, c.Relative, reason!); continue; }
            var key = (c.Person, c.Emotion, c.Session);
            if (keptFrom.TryGetValue(key, out string? first))
            {
                report.Skip(ImportReport.Duplicate, c.Relative, $"same person, emotion and session as {first}, which is kept");
                continue;
            }
            keptFrom[key] = c.Relative;
            chosen[key] = pixels;
        }
        report.Imported = chosen.Count;
        if (chosen.Count == 0)
        {
            report.WriteTo(log, "kdef");
            throw new GcnDataException(sourceDir, $"no usable KDEF image among {files.Length} files " +
                $"({candidates.Count} straight views of {string.Join(", ", codes)}, {report.SkippedCount} skipped as defective); " +
                "expected files like AF01/AF01NES.JPG");
        }

        string[] people = chosen.Keys.Select(k => k.Person).Distinct().OrderBy(p => p, StringComparer.Ordinal).ToArray();
        string[] sessions = chosen.Keys.Select(k => k.Session).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToArray();
        foreach (string p in people)
            for (int e = 0; e < codes.Length; e++)
                foreach (string s in sessions)
                    if (!chosen.ContainsKey((p, e, s))) report.Missing.Add($"{p}/{EmotionNames[codes[e]]}/{s}");

        var features = new[]
        {
            new DatasetFeature("identity", people),
            new DatasetFeature("emotion", codes.Select(c => EmotionNames[c])),
            new DatasetFeature("transformation", FaceTransforms.Names),
            new DatasetFeature("session", sessions),
        };
        int t8 = FaceTransforms.Names.Count, imageSize = 3 * size * size;
        var pixelsOut = new byte[(long)chosen.Count * t8 * imageSize];
        var labels = new int[chosen.Count * t8][];
        int index = 0;
        foreach (var ((p, e, s), upright) in chosen.OrderBy(kv => Array.IndexOf(people, kv.Key.Person)).ThenBy(kv => kv.Key.Emotion).ThenBy(kv => kv.Key.Session, StringComparer.Ordinal))
        {
            int pi = Array.IndexOf(people, p), si = Array.IndexOf(sessions, s);
            for (int t = 0; t < t8; t++, index++)
            {
                FaceTransforms.Apply(upright, pixelsOut.AsSpan(index * imageSize, imageSize), 3, size, t);
                labels[index] = new[] { pi, e, t, si };
            }
        }
        var dataset = new Dataset(DatasetName, 3, size, size, features, pixelsOut, labels,
            HeldoutSplit.Parse(FaceSet.HeldoutText(features), features));
        Dataset.Save(outDir, dataset);

        log.WriteLine($"kdef: examined {files.Length} files under {root}: imported {chosen.Count} photographs " +
            $"({people.Length} people, emotions {string.Join(" ", codes)}, sessions {string.Join(" ", sessions)})");
        report.WriteTo(log, "kdef");
        log.WriteLine($"kdef: wrote {dataset.Count} images 3x{size}x{size} " +
            $"({string.Join(", ", features.Select(f => $"{f.Name} {f.Count}"))}), {dataset.HeldOutIndices().Length} held out, " +
            $"to {Path.GetFullPath(outDir)} in {watch.Elapsed.TotalSeconds:F1} s");
        return new Result(dataset, report);
    }

    private sealed record Candidate(string Path, string Relative, string Person, int Emotion, string Session);

    private static string[] EmotionCodes(IReadOnlyList<string> emotions)
    {
        if (emotions.Count == 0) throw new GcnDataException("kdef: no emotions given, expected some of AF AN DI HA NE SA SU");
        var codes = new List<string>();
        foreach (string raw in emotions)
        {
            string v = (raw ?? "").Trim();
            string? code = EmotionNames.Keys.FirstOrDefault(k => string.Equals(k, v, StringComparison.OrdinalIgnoreCase))
                ?? EmotionNames.FirstOrDefault(kv => string.Equals(kv.Value, v, StringComparison.OrdinalIgnoreCase)).Key;
            if (code == null)
                throw new GcnDataException($"kdef: unknown emotion '{raw}', expected codes AF AN DI HA NE SA SU or names " +
                    string.Join(", ", EmotionNames.Values));
            if (codes.Contains(code)) throw new GcnDataException($"kdef: emotion '{raw}' is listed twice");
            codes.Add(code);
        }
        return codes.ToArray();
    }

    /// <summary>Decodes, checks and crops one file; on failure returns the category and reason instead.</summary>
    private static (byte[]?, string?, string?) Load(string path, int size, KdefCrop crop)
    {
        if (new FileInfo(path).Length == 0) return (null, ImportReport.Empty, "0 bytes");
        ImageHeader header;
        try { header = ImageIO.Identify(path); }
        catch (GcnDataException ex)
        {
            string reason = Reason(ex, path);
            return (null, reason.Contains("unsupported image format") ? ImportReport.Unsupported : ImportReport.Corrupt, reason);
        }
        long pixels = (long)header.Width * header.Height;
        if (pixels > MaxPixels)
            return (null, ImportReport.TooLarge, $"{header.Format} header says {header.Width}x{header.Height}, above the {MaxPixels}-pixel cap");
        RgbImage image;
        try { image = ImageIO.LoadImageRgb(path, MaxPixels); }
        catch (GcnDataException ex) { return (null, ImportReport.Corrupt, Reason(ex, path)); }
        string? blank = BlankReason(image);
        if (blank != null) return (null, ImportReport.Blank, blank);
        double sx = image.Width / (double)KdefCrop.FrameWidth, sy = image.Height / (double)KdefCrop.FrameHeight;
        return (ImageResample.Resample(image, crop.X * sx, crop.Y * sy, crop.Side * sx, crop.Side * sy, size, size), null, null);
    }

    private static string Reason(GcnDataException ex, string path) =>
        ex.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? ex.Message[(path.Length + 2)..] : ex.Message;

    /// <summary>All black (brightest pixel under 6%) or near-constant (luminance standard deviation under 1.5%).</summary>
    internal static string? BlankReason(RgbImage image)
    {
        int plane = image.Width * image.Height;
        double sum = 0, sum2 = 0, max = 0;
        for (int i = 0; i < plane; i++)
        {
            double l = 0.299 * image.Chw[i] + 0.587 * image.Chw[plane + i] + 0.114 * image.Chw[2 * plane + i];
            sum += l;
            sum2 += l * l;
            max = Math.Max(max, Math.Max(image.Chw[i], Math.Max(image.Chw[plane + i], image.Chw[2 * plane + i])));
        }
        double mean = sum / plane, std = Math.Sqrt(Math.Max(0, sum2 / plane - mean * mean));
        if (max < 0.06) return $"all black (brightest value {max * 255:F0}/255)";
        if (std < 0.015) return $"near-constant picture (brightness {mean * 255:F0}/255, spread {std * 255:F1}/255)";
        return null;
    }

    /// <summary>
    /// The files under <paramref name="root"/>, its sub-folders included. A symbolic link to a
    /// file inside the folder counts as that file; a link to a folder is not followed (a loop,
    /// or a tour of the system), and a link that leads outside or nowhere is reported skipped.
    /// </summary>
    private static IEnumerable<string> FilesInside(string root, ImportReport report)
    {
        var folders = new Stack<string>();
        folders.Push(root);
        while (folders.Count > 0)
        {
            foreach (var entry in new DirectoryInfo(folders.Pop()).EnumerateFileSystemInfos())
            {
                string rel = Path.GetRelativePath(root, entry.FullName);
                if (entry.LinkTarget is { } target)
                {
                    if (Directory.Exists(entry.FullName))
                        report.Skip(ImportReport.Link, rel, $"a symbolic link to the folder {target}; linked folders are not followed");
                    else if (SymbolicLinks.DescribeDangling(entry.FullName) is { } dangling)
                        report.Skip(ImportReport.Link, rel, dangling);
                    else if (!SymbolicLinks.LeadsInside(root, entry.FullName))
                        report.Skip(ImportReport.Link, rel, $"a symbolic link to {SymbolicLinks.RealPath(entry.FullName)}, outside the KDEF folder");
                    else yield return entry.FullName;
                }
                else if (entry is DirectoryInfo) folders.Push(entry.FullName);
                else yield return entry.FullName;
            }
        }
    }

}
