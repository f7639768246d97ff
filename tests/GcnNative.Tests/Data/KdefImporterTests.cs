using System.Text;
using GcnNative.Data;
using NUnit.Framework;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GcnNative.Tests.Data;

public class KdefImporterTests
{
    // The fake photographs use KDEF's framing scaled down to 56 x 76 (about 1/10).
    private const int W = 56, H = 76;
    private static readonly string[] People = { "F01", "F02", "M01" };
    private static readonly string[] Codes = { "NE", "DI", "HA", "SU" };

    /// <summary>
    /// A face-like picture whose crop area (the default box scaled to 56x76) is filled with a
    /// colour that encodes person, emotion and session, with a gradient border outside it, and a
    /// dark mark in the crop's top-left quarter so orientation is checkable.
    /// </summary>
    private static Rgb24[] Photo(int person, int emotion, int session)
    {
        var px = new Rgb24[W * H];
        var c = Expected(person, emotion, session);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                bool inCrop = x >= 9 && x < 47 && y >= 19 && y < 57;
                bool mark = x >= 12 && x < 20 && y >= 22 && y < 30;
                px[y * W + x] = mark ? new Rgb24(10, 10, 10) : inCrop ? c : new Rgb24((byte)(x * 4), (byte)(y * 3), 90);
            }
        return px;
    }

    private static Rgb24 Expected(int person, int emotion, int session) =>
        new((byte)(60 + 60 * person), (byte)(40 + 50 * emotion), (byte)(session == 0 ? 80 : 200));

    private static void Save(string path, Rgb24[] px, bool png = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = Image.LoadPixelData<Rgb24>(px, W, H);
        if (png) image.Save(path, new PngEncoder());
        else image.Save(path, new JpegEncoder { Quality = 95 });
    }

    private static string FileName(int session, string person, string code, string angle = "S", string ext = ".JPG") =>
        $"{"AB"[session]}{person}{code}{angle}{ext}";

    /// <summary>Writes the tree: good straight views of 3 people x 4 emotions x 2 sessions, other views, and every defect.</summary>
    private static Dictionary<string, string> BuildTree(string root)
    {
        var defects = new Dictionary<string, string>(); // relative path -> category
        string Path2(int s, string person, string name) => Path.Combine(root, "KDEF", $"{"AB"[s]}{person}", name);
        for (int p = 0; p < 3; p++)
            for (int e = 0; e < 4; e++)
                for (int s = 0; s < 2; s++)
                {
                    string ext = (p, e, s) switch { (0, 1, 0) => ".jpg", (1, 2, 1) => ".jpeg", _ => ".JPG" };
                    Save(Path2(s, People[p], FileName(s, People[p], Codes[e], "S", ext)), Photo(p, e, s), png: (p, e, s) == (2, 0, 1));
                    // Other angles and an unrequested emotion: counted, not imported.
                    Save(Path2(s, People[p], FileName(s, People[p], Codes[e], "HL")), Photo(p, e, s));
                }
        Save(Path2(0, "F01", "AF01AFS.JPG"), Photo(0, 0, 0));

        void Defect(string rel, string category, byte[] bytes)
        {
            string full = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, bytes);
            defects[rel] = category;
        }
        byte[] Jpeg(Rgb24[] px) { var ms = new MemoryStream(); using (var im = Image.LoadPixelData<Rgb24>(px, W, H)) im.Save(ms, new JpegEncoder { Quality = 90 }); return ms.ToArray(); }
        byte[] good = Jpeg(Photo(0, 0, 0));
        // M02 exists only through defective files, so it must not appear as a person.
        Defect(Path.Combine("KDEF", "AM02", "AM02NES.JPG"), ImportReport.Blank, Jpeg(new Rgb24[W * H]));
        Defect(Path.Combine("KDEF", "BM02", "BM02NES.JPG"), ImportReport.Blank, Jpeg(Enumerable.Repeat(new Rgb24(128, 128, 128), W * H).ToArray()));
        Defect(Path.Combine("KDEF", "AM02", "AM02DIS.JPG"), ImportReport.Unsupported, Tiff());
        Defect(Path.Combine("KDEF", "AM02", "AM02HAS.JPG"), ImportReport.Unsupported, Gif());
        Defect(Path.Combine("KDEF", "AM02", "AM02SUS.JPG"), ImportReport.TooLarge, ImageIOTests.CraftPng(60000, 60000));
        Defect(Path.Combine("KDEF", "BM02", "BM02DIS.JPG"), ImportReport.Corrupt, good[..(good.Length / 2)]);
        Defect(Path.Combine("KDEF", "BM02", "BM02HAS.JPG"), ImportReport.Empty, Array.Empty<byte>());
        Defect(Path.Combine("KDEF", "AF01", "AF01NEX.JPG"), ImportReport.Misnamed, good);
        Defect(Path.Combine("KDEF", "AF01", "AF36NES.JPG"), ImportReport.Misnamed, good);
        Defect(Path.Combine("KDEF", "AF02", "AF01HAS.JPG"), ImportReport.Misnamed, good);
        Defect(Path.Combine("KDEF", "readme.txt"), ImportReport.NotAnImage, Encoding.ASCII.GetBytes("KDEF"));
        Defect(Path.Combine("KDEF", "AF01", "Thumbs.db"), ImportReport.NotAnImage, new byte[] { 1, 2, 3 });
        // Same labels as AF01NES.JPG: the later name in path order is the duplicate.
        Defect(Path.Combine("KDEF", "AF01", "af01nes.jpg"), ImportReport.Duplicate, good);
        return defects;
    }

    private static byte[] Tiff()
    {
        var tiff = new byte[64];
        Encoding.ASCII.GetBytes("II*\0").CopyTo(tiff, 0);
        tiff[4] = 8;
        return tiff;
    }

    private static byte[] Gif() => Encoding.ASCII.GetBytes("GIF89a").Concat(new byte[]
    {
        1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B,
    }).ToArray();

    [Test]
    public void Import_KeepsGoodStraightViews_ReportsEveryDefect()
    {
        using var tmp = new TempDir();
        var defects = BuildTree(tmp.Path);
        var log = new StringWriter();
        var (ds, report) = KdefImporter.ImportWithReport(tmp.Path, tmp["out"], size: 16, log: log);
        string text = log.ToString();
        TestContext.Out.WriteLine(text);

        foreach (var (rel, category) in defects)
        {
            Assert.That(report.Skipped.ContainsKey(category) && report.Skipped[category].Any(x => x.File == rel), $"{rel} not reported as {category}");
            Assert.That(text, Does.Contain($"{category}: {rel}"));
        }
        Assert.That(report.SkippedCount, Is.EqualTo(defects.Count));
        Assert.That(report.Skipped[ImportReport.Unsupported].Select(x => x.Reason), Has.Some.Contains("TIFF").And.Some.Contains("GIF"));
        Assert.That(report.Skipped[ImportReport.TooLarge][0].Reason, Does.Contain("60000x60000"));
        Assert.That(report.Ignored["non-straight views"], Is.EqualTo(24));
        Assert.That(report.Ignored["straight views of other emotions"], Is.EqualTo(1));
        Assert.That(report.Missing, Is.Empty);

        Assert.That(report.Imported, Is.EqualTo(24));
        Assert.That(ds.Count, Is.EqualTo(24 * 8));
        Assert.That(ds.Features.Select(f => f.Name), Is.EqualTo(new[] { "identity", "emotion", "transformation", "session" }));
        Assert.That(ds.Features[0].Values, Is.EqualTo(People));
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "neutral", "aversion", "happiness", "surprise" }));
        Assert.That(ds.Features[3].Values, Is.EqualTo(new[] { "A", "B" }));
        Assert.That((ds.Height, ds.Width, ds.Channels), Is.EqualTo((16, 16, 3)));

        // Every image: labels in order person, emotion, session, transformation; the centre of the
        // crop has the colour that encodes the labels; r0 has the mark top-left, m0 top-right.
        int plane = 16 * 16, index = 0;
        for (int p = 0; p < 3; p++)
            for (int e = 0; e < 4; e++)
                for (int s = 0; s < 2; s++)
                    for (int t = 0; t < 8; t++, index++)
                    {
                        Assert.That(ds.Labels[index], Is.EqualTo(new[] { p, e, t, s }));
                        ReadOnlySpan<byte> img = ds.GetImageBytes(index);
                        Rgb24 c = Expected(p, e, s);
                        int centre = 8 * 16 + 8;
                        Assert.That(Math.Abs(img[centre] - c.R) + Math.Abs(img[plane + centre] - c.G) + Math.Abs(img[2 * plane + centre] - c.B),
                            Is.LessThan(24), $"image {index} centre colour");
                        int markAt = t switch { 0 => 3 * 16 + 3, 4 => 3 * 16 + 12, _ => -1 };
                        if (markAt >= 0) Assert.That(img[markAt], Is.LessThan(50), $"mark of image {index} ({t})");
                    }
        Dataset loaded = Dataset.Load(tmp["out"]);
        Assert.That(loaded.Pixels, Is.EqualTo(ds.Pixels));
        Assert.That(loaded.HeldOutIndices(), Has.Length.EqualTo(ds.HeldOutIndices().Length).And.Length.GreaterThan(0));
    }

    [Test]
    public void Import_ChosenEmotions_AndMissingCombinationsReported()
    {
        using var tmp = new TempDir();
        for (int s = 0; s < 2; s++)
            Save(Path.Combine(tmp.Path, $"{"AB"[s]}F01", FileName(s, "F01", "HA")), Photo(0, 2, s));
        Save(Path.Combine(tmp.Path, "AF01", FileName(0, "F01", "NE")), Photo(0, 0, 0));
        var log = new StringWriter();
        Dataset ds = KdefImporter.Import(tmp.Path, tmp["out"], new[] { "happiness", "ne" }, 12, log);
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "happiness", "neutral" }));
        Assert.That(ds.Count, Is.EqualTo(3 * 8));
        Assert.That(log.ToString(), Does.Contain("1 combinations have no usable image: F01/neutral/B"));
    }

    [Test]
    public void FatalErrors_AreOneLinersNamingThePath()
    {
        using var tmp = new TempDir();
        string missing = tmp["nope"];
        Assert.That(() => KdefImporter.Import(missing, tmp["out"]),
            Throws.TypeOf<GcnDataException>().With.Message.StartsWith(missing + ": KDEF folder not found"));
        Directory.CreateDirectory(tmp["junk"]);
        File.WriteAllBytes(Path.Combine(tmp["junk"], "AF01NES.JPG"), Array.Empty<byte>());
        File.WriteAllText(Path.Combine(tmp["junk"], "notes.txt"), "x");
        var log = new StringWriter();
        var ex = Assert.Throws<GcnDataException>(() => KdefImporter.Import(tmp["junk"], tmp["out"], log: log))!;
        Assert.That(ex.Message, Does.StartWith(tmp["junk"] + ": no usable KDEF image among 2 files").And.Not.Contain("\n"));
        Assert.That(log.ToString(), Does.Contain("empty file: AF01NES.JPG").And.Contain("not an image: notes.txt"));
        Assert.That(Directory.Exists(tmp["out"]), Is.False);
        Assert.That(() => KdefImporter.Import(tmp["junk"], tmp["out"], new[] { "joy" }),
            Throws.TypeOf<GcnDataException>().With.Message.Contains("unknown emotion 'joy'"));
    }

    [Test]
    public void SymbolicLinks_FoldersNotFollowed_FilesOnlyInside()
    {
        using var tmp = new TempDir();
        Save(Path.Combine(tmp.Path, "kdef", "AF01", FileName(0, "F01", "HA")), Photo(0, 2, 0));
        Save(Path.Combine(tmp.Path, "elsewhere", "AF02", FileName(0, "F02", "HA")), Photo(1, 2, 0));
        Directory.CreateDirectory(Path.Combine(tmp.Path, "kdef", "BF01"));
        File.CreateSymbolicLink(Path.Combine(tmp.Path, "kdef", "BF01", FileName(1, "F01", "HA")),
            Path.Combine("..", "AF01", FileName(0, "F01", "HA")));                               // inside: imported
        Directory.CreateSymbolicLink(Path.Combine(tmp.Path, "kdef", "more"), Path.Combine(tmp.Path, "elsewhere"));
        Directory.CreateSymbolicLink(Path.Combine(tmp.Path, "kdef", "loop"), Path.Combine(tmp.Path, "kdef"));
        File.CreateSymbolicLink(Path.Combine(tmp.Path, "kdef", FileName(0, "F02", "HA")),
            Path.Combine(tmp.Path, "elsewhere", "AF02", FileName(0, "F02", "HA")));
        File.CreateSymbolicLink(Path.Combine(tmp.Path, "kdef", "gone.JPG"), Path.Combine(tmp.Path, "nothing.JPG"));

        var log = new StringWriter();
        var (ds, report) = KdefImporter.ImportWithReport(tmp["kdef"], tmp["out"], size: 12, log: log);
        var links = report.Skipped[ImportReport.Link].ToDictionary(x => x.File, x => x.Reason);
        Assert.That(links.Keys, Is.EquivalentTo(new[] { "more", "loop", FileName(0, "F02", "HA"), "gone.JPG" }));
        Assert.That(links["more"], Does.Contain("linked folders are not followed"));
        Assert.That(links[FileName(0, "F02", "HA")], Does.Contain("outside the KDEF folder"));
        Assert.That(links["gone.JPG"], Does.Contain("which does not exist"));
        Assert.That(ds.Features[0].Values, Is.EqualTo(new[] { "F01" }), "nothing of F02 was read through the links");
        Assert.That(report.Imported, Is.EqualTo(2));
    }

    [Test]
    public void FullSizeFrame_UsesTheDefaultBoxInPixels()
    {
        // A 562x762 photo whose default crop box (81,180)-(481,580) is red and everything else blue.
        using var tmp = new TempDir();
        var px = new Rgb24[562 * 762];
        for (int y = 0; y < 762; y++)
            for (int x = 0; x < 562; x++)
                px[y * 562 + x] = x >= 81 && x < 481 && y >= 180 && y < 580 ? new Rgb24(220, 20, 20) : new Rgb24(20, 20, 220);
        Directory.CreateDirectory(tmp["AF01"]);
        using (var image = Image.LoadPixelData<Rgb24>(px, 562, 762)) image.Save(Path.Combine(tmp["AF01"], "AF01NES.JPG"), new PngEncoder());
        Dataset ds = KdefImporter.Import(tmp.Path, tmp["out"], new[] { "NE" }, 20);
        ReadOnlySpan<byte> img = ds.GetImageBytes(0);
        for (int i = 0; i < 400; i++)
            Assert.That((img[i], img[800 + i]), Is.EqualTo(((byte)220, (byte)20)), $"pixel {i} should be inside the red box");
    }
}
