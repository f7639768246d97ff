using GcnNative.Data;
using NUnit.Framework;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GcnNative.Tests.Data;

public class FolderImporterTests
{
    private TempDir _tmp = null!;

    [SetUp] public void SetUp() => _tmp = new TempDir();
    [TearDown] public void TearDown() => _tmp.Dispose();

    /// <summary>A w x h PNG filled with one colour, with a white left third (to check the centre crop).</summary>
    private string Png(string rel, int w, int h, Rgb24 c, bool jpeg = false)
    {
        string path = Path.Combine(_tmp.Path, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var px = new Rgb24[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                px[y * w + x] = x < (w - h) / 2 ? new Rgb24(255, 255, 255) : c;
        using var image = Image.LoadPixelData<Rgb24>(px, w, h);
        if (jpeg) image.Save(path, new JpegEncoder { Quality = 95 }); else image.Save(path, new PngEncoder());
        return path;
    }

    private string Manifest(string text)
    {
        string path = _tmp["manifest.csv"];
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void HappyPath_SortedClasses_DefaultSize_CentreCrop_HeldoutCopied()
    {
        Png("img/a.png", 12, 12, new Rgb24(200, 0, 0));
        Png("img/b.png", 18, 12, new Rgb24(0, 200, 0)); // wider: the white left strip is cropped away
        Png("img/c.jpg", 24, 24, new Rgb24(0, 0, 200), jpeg: true);
        string manifest = Manifest("# my shapes\npath, shape, size\nimg/a.png,star,10\nimg/b.png, dot ,2\n\nimg/c.jpg,dot,10\n");
        File.WriteAllText(_tmp["heldout.csv"], "# keep one back\nshape,size\ndot,2\n");
        var log = new StringWriter();
        Dataset ds = FolderImporter.Import(manifest, _tmp["out/shapes"], null, log);
        TestContext.Out.WriteLine(log);

        Assert.That((ds.Name, ds.Count, ds.Channels, ds.Height, ds.Width), Is.EqualTo(("shapes", 3, 3, 12, 12)));
        Assert.That(ds.Features.Select(f => f.Name), Is.EqualTo(new[] { "shape", "size" }));
        Assert.That(ds.Features[0].Values, Is.EqualTo(new[] { "dot", "star" }));
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "2", "10" }), "integers sort numerically");
        Assert.That(ds.Labels, Is.EqualTo(new[] { new[] { 1, 1 }, new[] { 0, 0 }, new[] { 0, 1 } }));
        int plane = 144;
        Assert.That((ds.GetImageBytes(0)[0], ds.GetImageBytes(0)[plane]), Is.EqualTo(((byte)200, (byte)0)));
        Assert.That(ds.GetImageBytes(1).Slice(0, plane).ToArray().Max(), Is.EqualTo(0), "white strip cropped away");
        Assert.That(ds.GetImageBytes(2)[2 * plane + 70], Is.InRange(190, 210), "24 px blue JPEG shrunk to 12");
        Assert.That(ds.HeldOutIndices(), Is.EqualTo(new[] { 1 }));
        Dataset loaded = Dataset.Load(_tmp["out/shapes"]);
        Assert.That(loaded.Heldout.Text, Does.StartWith("# keep one back"));
        Assert.That(log.ToString(), Does.Contain("imported 3 images 3x12x12").And.Contain("1 held out (heldout.csv)"));
        // the default size and the images it changed are named
        Assert.That(log.ToString(), Does.Contain("folder: resized 2 of 3 images to 12x12 (from 18x12 x1, 24x24 x1; " +
            "non-square ones centre-cropped first); 12 is the first image's shorter side, --size S chooses another\n"));

        var log2 = new StringWriter();
        Dataset resized = FolderImporter.Import(manifest, _tmp["out2"], 6, log2);
        Assert.That((resized.Height, resized.Width, resized.Count), Is.EqualTo((6, 6, 3)));
        Assert.That(log2.ToString(), Does.Contain("folder: resized 3 of 3 images to 6x6 (from 12x12 x1, 18x12 x1, 24x24 x1; " +
            "non-square ones centre-cropped first)\n"));
    }

    [Test]
    public void NoHeldoutFile_NothingHeldOut()
    {
        Png("a.png", 8, 8, new Rgb24(1, 2, 3));
        var log = new StringWriter();
        Dataset ds = FolderImporter.Import(Manifest("path,kind\na.png,x\n"), _tmp["out"], null, log);
        Assert.That(ds.HeldOutIndices(), Is.Empty);
        Assert.That(log.ToString(), Does.Not.Contain("resized"), "nothing resized, nothing said");
    }

    [TestCase("shape,path\na.png,x\n", "manifest.csv:1: header starts with 'shape', expected the column 'path' first")]
    [TestCase("path\na.png\n", "manifest.csv:1: header has no feature column")]
    [TestCase("path,kind,kind\na.png,x,y\n", "column 3: feature name 'kind' is used twice")]
    [TestCase("# only a comment\n", "has no header line")]
    [TestCase("path,kind\n", "no usable image rows")]
    public void BadManifest_ClearError(string text, string expected)
    {
        Png("a.png", 8, 8, new Rgb24(1, 2, 3));
        Assert.That(() => FolderImporter.Import(Manifest(text), _tmp["out"]),
            Throws.TypeOf<GcnDataException>().With.Message.Contains(expected));
        Assert.That(Directory.Exists(_tmp["out"]), Is.False);
    }

    [Test]
    public void PathsLeavingTheManifestFolderAreRefused()
    {
        Png("a.png", 8, 8, new Rgb24(1, 2, 3));
        Directory.CreateDirectory(_tmp["sub"]);
        Png("sub/b.png", 8, 8, new Rgb24(4, 5, 6));
        string manifest = _tmp["sub/manifest.csv"];
        File.WriteAllText(manifest, "path,kind\nb.png,x\n../a.png,y\n" + _tmp["a.png"] + ",y\n");
        var ex = Assert.Throws<GcnDataException>(() => FolderImporter.Import(manifest, _tmp["out"]))!;
        Assert.That(ex.Message, Does.Contain("2 bad rows")
            .And.Contain("manifest.csv:3: path '../a.png' leads outside the manifest's folder")
            .And.Contain("manifest.csv:4: path '" + _tmp["a.png"] + "' leads outside"));
    }

    [Test]
    public void LinksLeavingTheManifestFolderAreRefused_LinksInsideAreFollowed()
    {
        Png("outside/secret.png", 8, 8, new Rgb24(9, 9, 9));
        Png("set/a.png", 8, 8, new Rgb24(1, 2, 3));
        File.CreateSymbolicLink(_tmp["set/inside.png"], "a.png");                   // relative, stays inside
        File.CreateSymbolicLink(_tmp["set/link.png"], _tmp["outside/secret.png"]);  // a file outside
        Directory.CreateSymbolicLink(_tmp["set/up"], "..");                          // a folder link up and out
        string manifest = _tmp["set/manifest.csv"];
        File.WriteAllText(manifest, "path,kind\na.png,x\ninside.png,y\nlink.png,y\nup/outside/secret.png,y\n");
        var ex = Assert.Throws<GcnDataException>(() => FolderImporter.Import(manifest, _tmp["out"]))!;
        Assert.That(ex.Message, Does.Contain("2 bad rows")
            .And.Contain("manifest.csv:4: path 'link.png' is a symbolic link (or goes through one) to " + _tmp["outside/secret.png"] + ", outside the manifest's folder")
            .And.Contain("manifest.csv:5: path 'up/outside/secret.png' is a symbolic link (or goes through one) to " + _tmp["outside/secret.png"])
            .And.Not.Contain("manifest.csv:3"));

        var ds = FolderImporter.Import(manifest, _tmp["out"], log: null, skipBadRows: true);
        Assert.That(ds.Count, Is.EqualTo(2), "a.png and the link to it inside the folder");
    }

    [Test]
    public void BadRows_ListedWithLineAndExpectation_OrSkipped()
    {
        Png("a.png", 8, 8, new Rgb24(1, 2, 3));
        Png("b.png", 8, 8, new Rgb24(9, 9, 9));
        File.WriteAllBytes(_tmp["gif.png"], "GIF89a"u8.ToArray().Concat(new byte[32]).ToArray());
        File.WriteAllBytes(_tmp["bomb.png"], ImageIOTests.CraftPng(60000, 60000));
        string manifest = Manifest(
            "path,kind,color\n" +   // 1
            "a.png,x,red\n" +       // 2 good
            "b.png,y\n" +           // 3 too few cells
            "missing.png,x,red\n" + // 4 unknown file
            ",x,red\n" +            // 5 empty path
            "b.png,*,red\n" +       // 6 reserved value
            "gif.png,x,red\n" +     // 7 not PNG/JPEG
            "bomb.png,x,red\n" +    // 8 huge header
            "b.png,y,blue\n");      // 9 good
        var ex = Assert.Throws<GcnDataException>(() => FolderImporter.Import(manifest, _tmp["out"]))!;
        string m = ex.Message;
        TestContext.Out.WriteLine(m);
        Assert.That(m, Does.StartWith(manifest + ": 6 bad rows: manifest.csv:3: has 2 cells, expected 3 (path,kind,color)"));
        Assert.That(m, Does.Contain("manifest.csv:4: file 'missing.png' not found"));
        Assert.That(m, Does.Contain("manifest.csv:5: the path cell is empty"));
        Assert.That(m, Does.Contain("manifest.csv:6: column 2 (kind): value '*'"));
        Assert.That(m, Does.Contain("manifest.csv:7: image 'gif.png': unsupported image format"));
        Assert.That(m, Does.Contain("... and 1 more").And.Not.Contain("\n"));
        Assert.That(Directory.Exists(_tmp["out"]), Is.False);

        var log = new StringWriter();
        Dataset ds = FolderImporter.Import(manifest, _tmp["out"], log: log, skipBadRows: true);
        Assert.That(ds.Count, Is.EqualTo(2));
        Assert.That(log.ToString(), Does.Contain("skipped 6 bad rows").And.Contain("manifest.csv:8: image 'bomb.png'").And.Contain("60000x60000"));
        Assert.That(ds.Features[1].Values, Is.EqualTo(new[] { "blue", "red" }));
    }

    [Test]
    public void BadHeldout_And_MissingManifest_AreErrors()
    {
        Png("a.png", 8, 8, new Rgb24(1, 2, 3));
        string manifest = Manifest("path,kind\na.png,x\n");
        File.WriteAllText(_tmp["heldout.csv"], "kind\nnope\n");
        Assert.That(() => FolderImporter.Import(manifest, _tmp["out"]),
            Throws.TypeOf<GcnDataException>().With.Message.Contains("heldout.csv line 2, column 1 (kind): unknown value 'nope'"));
        Assert.That(() => FolderImporter.Import(_tmp["none.csv"], _tmp["out"]),
            Throws.TypeOf<GcnDataException>().With.Message.StartsWith(_tmp["none.csv"] + ": manifest not found"));
        Assert.That(() => FolderImporter.Import(manifest, _tmp["out"], 0),
            Throws.TypeOf<GcnDataException>().With.Message.Contains("size is 0"));
    }
}
