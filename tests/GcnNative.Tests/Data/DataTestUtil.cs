using System.Buffers.Binary;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using GcnNative.Data;
using NUnit.Framework;

namespace GcnNative.Tests.Data;

/// <summary>A temporary folder deleted at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gcn-data-tests-" + Guid.NewGuid().ToString("N")));
    public string Path { get; }
    public string this[string name] => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

/// <summary>Builders for small synthetic MNIST sources and helpers shared by the data tests.</summary>
internal static class DataTestUtil
{
    public const int Side = 28, Plane = Side * Side;

    /// <summary>110 of each digit in a fixed shuffled order, so "first 100 in file order" is really tested.</summary>
    public static byte[] ShuffledLabels(int perDigit = 110)
    {
        var labels = Enumerable.Range(0, 10 * perDigit).Select(i => (byte)(i % 10)).ToArray();
        new Random(1234).Shuffle(labels);
        return labels;
    }

    /// <summary>Distinct, rotation-asymmetric pattern per image.</summary>
    public static byte[] SyntheticPixels(int count, int rows = Side, int cols = Side)
    {
        var pixels = new byte[count * rows * cols];
        for (int i = 0; i < count; i++)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                    pixels[(i * rows + y) * cols + x] = (byte)((i * 31 + y * 17 + x * 5 + x * y) & 0xFF);
        return pixels;
    }

    public static byte[] Idx(uint magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), (uint)dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    /// <summary>Writes train-images/labels into <paramref name="dir"/>; returns (images path, labels path).</summary>
    public static (string Images, string Labels) WriteIdxPair(string dir, byte[] labels, byte[] pixels, bool gzip,
        string imagesName = "train-images-idx3-ubyte", string labelsName = "train-labels-idx1-ubyte")
    {
        byte[] img = Idx(0x803, new[] { labels.Length, Side, Side }, pixels);
        byte[] lbl = Idx(0x801, new[] { labels.Length }, labels);
        string suffix = gzip ? ".gz" : "";
        string imagesPath = Path.Combine(dir, imagesName + suffix), labelsPath = Path.Combine(dir, labelsName + suffix);
        File.WriteAllBytes(imagesPath, gzip ? Gzip(img) : img);
        File.WriteAllBytes(labelsPath, gzip ? Gzip(lbl) : lbl);
        return (imagesPath, labelsPath);
    }

    /// <summary>Expected exemplar e of digit d: the e-th image with label d, in file order.</summary>
    public static int SourceIndex(byte[] labels, int digit, int exemplar)
    {
        for (int i = 0, seen = 0; i < labels.Length; i++)
            if (labels[i] == digit && seen++ == exemplar) return i;
        throw new ArgumentOutOfRangeException(nameof(exemplar));
    }

    /// <summary>JSON in the npm package's shape: {"data":[...]} with values k/255 rounded to 3 decimals.</summary>
    public static string DigitJson(byte[] grey) =>
        "{ \"data\": [" + string.Join(",", grey.Select(b => Math.Round(b / 255.0, 3).ToString(CultureInfo.InvariantCulture))) + "] }";

    /// <summary>Grey bytes for <paramref name="n"/> digits of class <paramref name="d"/>, already on the 3-decimal grid so they round-trip.</summary>
    public static byte[] NpmDigits(int d, int n)
    {
        var bytes = SyntheticPixels(n).Select((b, i) => (byte)((b + d * 13) & 0xFF)).ToArray();
        return bytes.Select(b => (byte)Math.Round(Math.Round(b / 255.0, 3) * 255)).ToArray();
    }

    /// <summary>Builds an npm-style tarball with package/src/digits/&lt;d&gt;.json entries.</summary>
    public static void WriteNpmTarball(string path, Func<int, string?> jsonForDigit, string prefix = "package/")
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Ustar);
        AddEntry(tar, prefix + "package.json", "{\"name\":\"mnist\",\"version\":\"1.1.0\"}");
        for (int d = 0; d < 10; d++)
            if (jsonForDigit(d) is { } json) AddEntry(tar, $"{prefix}src/digits/{d}.json", json);
    }

    private static void AddEntry(TarWriter tar, string name, string content)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
        tar.WriteEntry(entry);
    }

    /// <summary>Snapshot of every file in a folder (name -> bytes) to prove nothing changed.</summary>
    public static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), f => File.ReadAllBytes(f));

    public static void AssertUnchanged(string dir, Dictionary<string, byte[]> before)
    {
        var after = Snapshot(dir);
        Assert.That(after.Keys, Is.EquivalentTo(before.Keys), "files in the output folder changed (temp files left?)");
        foreach (var (name, bytes) in before)
            Assert.That(after[name], Is.EqualTo(bytes), $"{name} was modified");
    }

    /// <summary>A tiny valid dataset to stand in for "an existing dataset" in an output folder.</summary>
    public static Dataset TinyDataset(string name = "tiny")
    {
        var features = new[] { new DatasetFeature("shape", new[] { "dot", "bar" }), new DatasetFeature("size", new[] { "s", "m", "l" }) };
        var labels = new[] { new[] { 0, 0 }, new[] { 1, 2 }, new[] { 0, 1 }, new[] { 1, 1 }, new[] { 0, 2 } };
        var pixels = Enumerable.Range(0, 5 * 6).Select(i => (byte)(i * 8)).ToArray();
        string heldout = "# keep the big bar for testing\nshape,size\nbar,l\n";
        return new Dataset(name, 1, 2, 3, features, pixels, labels, HeldoutSplit.Parse(heldout, features));
    }
}
