using System.Diagnostics;
using GcnNative.Data;
using NUnit.Framework;

namespace GcnNative.Tests.Data;

public class FaceSetTests
{
    private static readonly string[] T = { "r0", "r90", "r180", "r270", "m0", "m90", "m180", "m270" };

    // Shared small sets: drawing is cheap, but the machine is busy.
    private static readonly Lazy<Dataset> Full64 = new(() => FaceSet.Build(people: 70, size: 64, seed: 1));

    private static int Index(Dataset ds, int p, int e, int t) => (p * ds.Features[1].Count + e) * 8 + t;

    /// <summary>Mean absolute difference of two images, in grey levels (0..255).</summary>
    private static double Distance(Dataset ds, int a, int b)
    {
        ReadOnlySpan<byte> x = ds.GetImageBytes(a), y = ds.GetImageBytes(b);
        long sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Abs(x[i] - y[i]);
        return sum / (double)x.Length;
    }

    [Test]
    public void Build_HasThePaperStructure()
    {
        Dataset ds = FaceSet.Build(people: 12, size: 32, seed: 3);
        Assert.That((ds.Name, ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo(("faces", 12 * 4 * 8, 3, 32, 32)));
        Assert.That(ds.Features.Select(f => f.Name), Is.EqualTo(new[] { "identity", "emotion", "transformation" }));
        Assert.That(ds.Features[0].Values, Is.EqualTo(Enumerable.Range(0, 12).Select(i => $"p{i:D2}")));
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "neutral", "aversion", "happiness", "surprise" }));
        Assert.That(ds.Features[2].Values, Is.EqualTo(T));
        for (int p = 0; p < 12; p++)
            for (int e = 0; e < 4; e++)
                for (int t = 0; t < 8; t++)
                    Assert.That(ds.Labels[Index(ds, p, e, t)], Is.EqualTo(new[] { p, e, t }));
    }

    [Test]
    public void SameSeed_SameBytes_DifferentSeed_DifferentFaces()
    {
        using var tmp = new TempDir();
        FaceSet.Generate(tmp["a"], people: 6, size: 40, seed: 7);
        FaceSet.Generate(tmp["b"], people: 6, size: 40, seed: 7);
        foreach (string file in new[] { "images.u8", "labels.csv", "heldout.csv", "dataset.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(tmp["b"], file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(tmp["a"], file))), file);
        Dataset other = FaceSet.Build(people: 6, size: 40, seed: 8);
        Dataset a = Dataset.Load(tmp["a"]);
        Assert.That(other.Pixels, Is.Not.EqualTo(a.Pixels));
    }

    [Test]
    public void Generate_SavesALoadableDatasetWithTheDefaultSplit()
    {
        using var tmp = new TempDir();
        var log = new StringWriter();
        Dataset ds = FaceSet.Generate(tmp["faces"], people: 70, size: 24, seed: 1, log: log);
        Dataset loaded = Dataset.Load(tmp["faces"]);
        Assert.That(loaded.Pixels, Is.EqualTo(ds.Pixels));
        Assert.That(log.ToString(), Does.Contain("2240 images").And.Contain("60 held out").And.Contain("preview.png"));
        // the preview: 8 people x 4 emotions of 24 px cells with 2 px padding
        var header = ImageIO.Identify(Path.Combine(tmp["faces"], FaceSet.PreviewFile));
        Assert.That((header.Width, header.Height), Is.EqualTo((4 * 24 + 5 * 2, 8 * 24 + 9 * 2)));
        // p00, p07, ..., p63: the first five miss a whole emotion (never neutral), the others 4 of 8 transformations.
        var held = loaded.HeldOutIndices().Select(i => loaded.Labels[i]).Select(l => (P: l[0], E: l[1], T: l[2])).ToHashSet();
        Assert.That(held, Has.Count.EqualTo(5 * 8 + 5 * 4));
        int[] wholeEmotion = { 1, 2, 3, 1, 2 };
        for (int i = 0; i < 5; i++)
            for (int t = 0; t < 8; t++)
                Assert.That(held, Does.Contain((7 * i, wholeEmotion[i], t)));
        for (int i = 5; i < 10; i++)
        {
            string[] ts = i % 2 == 0 ? new[] { "r90", "r270", "m0", "m180" } : new[] { "r0", "r180", "m90", "m270" };
            foreach (string t in ts) Assert.That(held, Does.Contain((7 * i, i % 4, Array.IndexOf(T, t))));
        }
        Assert.That(loaded.Heldout.Text, Does.StartWith("# Held-out split"));
    }

    /// <summary>Pixels (positions) where some channel differs by more than 40 grey levels: clearly visible changes.</summary>
    private static int Changed(Dataset ds, int a, int b)
    {
        ReadOnlySpan<byte> x = ds.GetImageBytes(a), y = ds.GetImageBytes(b);
        int plane = ds.Height * ds.Width, n = 0;
        for (int i = 0; i < plane; i++)
            if (Math.Abs(x[i] - y[i]) > 40 || Math.Abs(x[plane + i] - y[plane + i]) > 40 || Math.Abs(x[2 * plane + i] - y[2 * plane + i]) > 40) n++;
        return n;
    }

    [Test]
    public void EmotionsDifferWithinAPerson_PeopleDifferWithinAnEmotion()
    {
        // At 64 px, in the r0 view: every pair of emotions of every person, every pair of people in every emotion.
        Dataset ds = Full64.Value;
        double minEmotion = double.MaxValue, minPerson = double.MaxValue;
        int minEmotionChanged = int.MaxValue, minPersonChanged = int.MaxValue;
        for (int p = 0; p < 70; p++)
            for (int e1 = 0; e1 < 4; e1++)
                for (int e2 = e1 + 1; e2 < 4; e2++)
                {
                    int a = Index(ds, p, e1, 0), b = Index(ds, p, e2, 0);
                    minEmotion = Math.Min(minEmotion, Distance(ds, a, b));
                    minEmotionChanged = Math.Min(minEmotionChanged, Changed(ds, a, b));
                }
        for (int e = 0; e < 4; e++)
            for (int p1 = 0; p1 < 70; p1++)
                for (int p2 = p1 + 1; p2 < 70; p2++)
                {
                    int a = Index(ds, p1, e, 0), b = Index(ds, p2, e, 0);
                    minPerson = Math.Min(minPerson, Distance(ds, a, b));
                    minPersonChanged = Math.Min(minPersonChanged, Changed(ds, a, b));
                }
        TestContext.Out.WriteLine($"closest emotions of one person: mean {minEmotion:F2} grey levels, {minEmotionChanged} pixels changed by >40; " +
            $"closest people in one emotion: mean {minPerson:F2}, {minPersonChanged} pixels");
        Assert.That(minEmotion, Is.GreaterThan(1.0), "two emotions of one person look alike");
        Assert.That(minEmotionChanged, Is.GreaterThan(40), "two emotions of one person differ in too few pixels");
        Assert.That(minPerson, Is.GreaterThan(3.0), "two people look alike");
        Assert.That(minPersonChanged, Is.GreaterThan(150), "two people differ in too few pixels");
    }

    [Test]
    public void Transformations_AreExactRotationsAndMirrors_AndAllDistinct()
    {
        Dataset ds = FaceSet.Build(people: 3, size: 33, seed: 2);
        int n = 33, plane = n * n;
        for (int p = 0; p < 3; p++)
        {
            byte[] r0 = ds.GetImageBytes(Index(ds, p, 2, 0)).ToArray();
            byte[] m0 = ds.GetImageBytes(Index(ds, p, 2, 4)).ToArray();
            // By hand: mirror = column x from column n-1-x; one counter-clockwise quarter turn as
            // displayed puts source (row x, column n-1-y) at (row y, column x).
            byte[] Mirror(byte[] s) { var d = new byte[s.Length]; for (int c = 0; c < 3; c++) for (int y = 0; y < n; y++) for (int x = 0; x < n; x++) d[c * plane + y * n + x] = s[c * plane + y * n + (n - 1 - x)]; return d; }
            byte[] Ccw(byte[] s) { var d = new byte[s.Length]; for (int c = 0; c < 3; c++) for (int y = 0; y < n; y++) for (int x = 0; x < n; x++) d[c * plane + y * n + x] = s[c * plane + x * n + (n - 1 - y)]; return d; }
            Assert.That(m0, Is.EqualTo(Mirror(r0)), "m0 is the left-right mirror of r0");
            byte[] r = r0, m = m0;
            for (int k = 1; k < 4; k++)
            {
                r = Ccw(r);
                m = Ccw(m);
                Assert.That(ds.GetImageBytes(Index(ds, p, 2, k)).ToArray(), Is.EqualTo(r), $"r{90 * k}");
                Assert.That(ds.GetImageBytes(Index(ds, p, 2, 4 + k)).ToArray(), Is.EqualTo(m), $"m{90 * k}");
            }
            // Light from the upper left and the parting make all eight views different images.
            for (int a = 0; a < 8; a++)
                for (int b = a + 1; b < 8; b++)
                    Assert.That(Distance(ds, Index(ds, p, 2, a), Index(ds, p, 2, b)), Is.GreaterThan(1.0), $"{T[a]} vs {T[b]}");
        }
        // Top-left pixel of r0 is the fixed background.
        Assert.That(ds.GetImageBytes(0)[0], Is.EqualTo((byte)Math.Round(0.74 * 255)));
    }

    [Test]
    public void AllSevenEmotions_AndBadArguments()
    {
        Dataset ds = FaceSet.Build(people: 2, size: 20, seed: 1, emotions: FaceSet.AllEmotions);
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "neutral", "aversion", "happiness", "surprise", "fear", "anger", "sadness" }));
        Assert.That(ds.Count, Is.EqualTo(2 * 7 * 8));
        Dataset some = FaceSet.Build(people: 2, size: 20, seed: 1, emotions: new[] { "Surprise", "neutral" });
        Assert.That(some.Features[1].Values, Is.EqualTo(new[] { "surprise", "neutral" }));
        Assert.That(() => FaceSet.Build(people: 2, size: 20, emotions: new[] { "joy" }),
            Throws.TypeOf<GcnDataException>().With.Message.Contains("unknown emotion 'joy'").And.Message.Contains("happiness"));
        Assert.That(() => FaceSet.Build(people: 0), Throws.TypeOf<GcnDataException>().With.Message.Contains("people is 0"));
        Assert.That(() => FaceSet.Build(size: 8), Throws.TypeOf<GcnDataException>().With.Message.Contains("size is 8"));
    }

    /// <summary>Writes the preview grids (8 people x emotions, r0) to data/ of the repository and prints timings.</summary>
    [Test, Explicit("writes preview PNGs into the repository's data/ folder and times full-size generation")]
    public void RenderPreviewGrids()
    {
        string dir = Path.Combine(RepoRoot(), "data");
        foreach (int size in new[] { 158, 64 })
        {
            var watch = Stopwatch.StartNew();
            using var tmp = new TempDir();
            Dataset ds = FaceSet.Generate(tmp["faces"], people: 70, size: size, seed: 1, log: TestContext.Out);
            TestContext.Out.WriteLine($"70 people x 4 emotions x 8 transformations at {size} px: {watch.Elapsed.TotalSeconds:F2} s (incl. save)");
            WriteGrid(ds, Path.Combine(dir, $"faces-grid-{size}.png"), 8, Enumerable.Range(0, 4).ToArray(), 0);
            Dataset all = FaceSet.Build(people: 8, size: size, seed: 1, emotions: FaceSet.AllEmotions);
            WriteGrid(all, Path.Combine(dir, $"faces-grid-all-emotions-{size}.png"), 8, Enumerable.Range(0, 7).ToArray(), 0);
        }
        Dataset t = FaceSet.Build(people: 2, size: 64, seed: 1);
        var images = new List<float>();
        var buf = new float[t.ImageSize];
        for (int p = 0; p < 2; p++)
            for (int k = 0; k < 8; k++) { t.GetImage(Index(t, p, 2, k), buf); images.AddRange(buf); }
        ImageIO.SaveGridPng(Path.Combine(dir, "faces-transformations-64.png"), images.ToArray(), 3, 64, 64, 8);
    }

    private static void WriteGrid(Dataset ds, string path, int people, int[] emotions, int t)
    {
        var images = new List<float>();
        var buf = new float[ds.ImageSize];
        for (int p = 0; p < people; p++)
            foreach (int e in emotions) { ds.GetImage(Index(ds, p, e, t), buf); images.AddRange(buf); }
        ImageIO.SaveGridPng(path, images.ToArray(), 3, ds.Height, ds.Width, emotions.Length);
        TestContext.Out.WriteLine($"wrote {path}");
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GcnNative.slnx")) || Directory.Exists(Path.Combine(dir.FullName, "src", "GcnNative.Data")))
                return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }
}
