using System.Globalization;
using System.Text;

namespace GcnNative.Data;

/// <summary>
/// An image set with discrete features, the common representation that every importer
/// (MNIST, faces, KDEF, a user's folder) produces and that training reads.
/// </summary>
/// <remarks>
/// On disk a dataset is a folder with:
/// <list type="bullet">
/// <item><c>dataset.json</c>: <c>{"format":"gcn-dataset-1","name":..,"channels":..,"height":..,"width":..,"count":..,"features":[{"name":..,"values":[..]},..]}</c></item>
/// <item><c>images.u8</c>: count*C*H*W bytes, each image as C planes of H rows of W bytes (0..255).</item>
/// <item><c>labels.csv</c>: header <c>index,&lt;feature names&gt;</c>, one row per image, class indices.</item>
/// <item><c>heldout.csv</c>: optional held-out split, see <see cref="HeldoutSplit"/>.</item>
/// </list>
/// </remarks>
public sealed partial class Dataset
{
    /// <summary>Value of the <c>format</c> field this version reads and writes.</summary>
    public const string FormatId = "gcn-dataset-1";
    /// <summary>Manifest file name.</summary>
    public const string ManifestFile = "dataset.json";
    /// <summary>Pixel file name.</summary>
    public const string ImagesFile = "images.u8";
    /// <summary>Label file name.</summary>
    public const string LabelsFile = "labels.csv";
    /// <summary>Held-out split file name.</summary>
    public const string HeldoutFile = "heldout.csv";

    private readonly DatasetFeature[] _features;

    /// <summary>
    /// Builds a dataset in memory. <paramref name="pixels"/> and <paramref name="labels"/> are
    /// kept, not copied. Throws <see cref="GcnDataException"/> for names that cannot be stored
    /// and <see cref="ArgumentException"/> for inconsistent sizes or labels.
    /// </summary>
    public Dataset(string name, int channels, int height, int width,
        IReadOnlyList<DatasetFeature> features, byte[] pixels, int[][] labels, HeldoutSplit? heldout = null)
    {
        ValidateFeatures(name, features, $"dataset '{name}'");
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), "channels must be 1 or 3");
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), "height and width must be positive");
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        long imageSize = (long)channels * height * width;
        if (pixels.LongLength != imageSize * labels.Length)
            throw new ArgumentException($"pixels has {pixels.LongLength} bytes, expected {labels.Length} x {imageSize}", nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            CheckLabelRow(labels[i], features, i);
        if (heldout != null && heldout.FeatureCount != features.Count)
            throw new ArgumentException("held-out split was parsed for a different feature list", nameof(heldout));

        Name = name;
        Channels = channels;
        Height = height;
        Width = width;
        _features = features.ToArray();
        Pixels = pixels;
        Labels = labels;
        Heldout = heldout ?? HeldoutSplit.Empty(features);
    }

    /// <summary>Short name, e.g. <c>mnist</c>.</summary>
    public string Name { get; }
    /// <summary>Channels per image (1 or 3).</summary>
    public int Channels { get; }
    /// <summary>Image height in pixels.</summary>
    public int Height { get; }
    /// <summary>Image width in pixels.</summary>
    public int Width { get; }
    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;
    /// <summary>Values per image, C*H*W.</summary>
    public int ImageSize => Channels * Height * Width;
    /// <summary>The features, in the order of each label row.</summary>
    public IReadOnlyList<DatasetFeature> Features => _features;
    /// <summary>All pixels, image after image, each image CHW (channel planes), 0..255.</summary>
    public byte[] Pixels { get; }
    /// <summary><c>Labels[i][f]</c> is the class index of feature f for image i.</summary>
    public int[][] Labels { get; }
    /// <summary>The held-out split (empty when the folder has no <c>heldout.csv</c>).</summary>
    public HeldoutSplit Heldout { get; }

    /// <summary>Index of the feature called <paramref name="name"/>, or -1 when there is none.</summary>
    public int FindFeature(string name) => Array.FindIndex(_features, f => f.Name == name);

    /// <summary>The raw bytes of image <paramref name="index"/> (CHW).</summary>
    public ReadOnlySpan<byte> GetImageBytes(int index)
    {
        CheckIndex(index);
        return Pixels.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>Writes image <paramref name="index"/> as floats in [0,1] (value/255), CHW order, into the first <see cref="ImageSize"/> entries of <paramref name="dst"/>.</summary>
    public void GetImage(int index, Span<float> dst)
    {
        if (dst.Length < ImageSize)
            throw new ArgumentException($"destination holds {dst.Length} floats, image needs {ImageSize}", nameof(dst));
        ReadOnlySpan<byte> src = GetImageBytes(index);
        for (int k = 0; k < src.Length; k++)
            dst[k] = src[k] / 255f;
    }

    /// <summary>Indices of images not held out, ascending.</summary>
    public int[] TrainIndices() => SelectIndices(heldOut: false);

    /// <summary>Indices of images matched by <see cref="Heldout"/>, ascending.</summary>
    public int[] HeldOutIndices() => SelectIndices(heldOut: true);

    private int[] SelectIndices(bool heldOut)
    {
        var result = new List<int>();
        for (int i = 0; i < Labels.Length; i++)
            if (Heldout.IsHeldOut(Labels[i]) == heldOut) result.Add(i);
        return result.ToArray();
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"image {index} is outside 0..{Count - 1}");
    }

    private static void CheckLabelRow(int[] row, IReadOnlyList<DatasetFeature> features, int i)
    {
        if (row == null || row.Length != features.Count)
            throw new ArgumentException($"labels[{i}] must have {features.Count} entries", "labels");
        for (int f = 0; f < row.Length; f++)
            if ((uint)row[f] >= (uint)features[f].Count)
                throw new ArgumentException($"labels[{i}][{f}] = {row[f]} is outside 0..{features[f].Count - 1} ({features[f].Name})", "labels");
    }

    /// <summary>Checks dataset and feature names; <paramref name="where"/> starts each message.</summary>
    internal static void ValidateFeatures(string name, IReadOnlyList<DatasetFeature> features, string where)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new GcnDataException($"{where}: name is empty, expected a short name such as 'mnist'");
        if (features == null || features.Count == 0)
            throw new GcnDataException($"{where}: has no features, expected at least one");
        var seen = new HashSet<string>(StringComparer.Ordinal) { "index" };
        foreach (DatasetFeature feature in features)
        {
            string? bad = DatasetFeature.CheckName(feature.Name);
            if (bad != null) throw new GcnDataException($"{where}: feature name '{feature.Name}' {bad}");
            if (!seen.Add(feature.Name))
                throw new GcnDataException($"{where}: feature name '{feature.Name}' is used twice or is the reserved column 'index'");
            if (feature.Count == 0)
                throw new GcnDataException($"{where}: feature '{feature.Name}' has no values, expected at least one");
            var values = new HashSet<string>(StringComparer.Ordinal);
            foreach (string value in feature.Values)
            {
                bad = DatasetFeature.CheckName(value);
                if (bad != null) throw new GcnDataException($"{where}: value '{value}' of feature '{feature.Name}' {bad}");
                if (!values.Add(value))
                    throw new GcnDataException($"{where}: value '{value}' of feature '{feature.Name}' appears twice");
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="dataset"/> into folder <paramref name="dir"/> (created if needed).
    /// All four files are written under temporary names first and moved into place only when
    /// every one is complete, <c>dataset.json</c> last, so an error never leaves a mixed or
    /// half-written dataset and never touches an existing dataset's files.
    /// </summary>
    public static void Save(string dir, Dataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        // temporary files of a save that was killed
        foreach (string name in new[] { ImagesFile, LabelsFile, HeldoutFile, ManifestFile })
            GcnNative.IO.AtomicFile.RemoveLeftovers(dir, name);
        AtomicFiles.WriteAll(dir, new (string, Action<Stream>)[]
        {
            (ImagesFile, s => s.Write(dataset.Pixels)),
            (LabelsFile, dataset.WriteLabels),
            (HeldoutFile, s => s.Write(Encoding.UTF8.GetBytes(dataset.Heldout.Text))),
            (ManifestFile, dataset.WriteManifest),
        });
    }

    private void WriteLabels(Stream stream)
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        writer.WriteLine("index," + string.Join(',', _features.Select(f => f.Name)));
        var line = new StringBuilder();
        for (int i = 0; i < Labels.Length; i++)
        {
            line.Clear().Append(i.ToString(CultureInfo.InvariantCulture));
            foreach (int value in Labels[i])
                line.Append(',').Append(value.ToString(CultureInfo.InvariantCulture));
            writer.WriteLine(line);
        }
    }
}
