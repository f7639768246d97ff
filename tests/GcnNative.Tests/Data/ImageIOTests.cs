using System.Buffers.Binary;
using System.Text;
using GcnNative.Data;
using NUnit.Framework;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace GcnNative.Tests.Data;

public class ImageIOTests
{
    private TempDir _tmp = null!;

    [SetUp] public void SetUp() => _tmp = new TempDir();
    [TearDown] public void TearDown() => _tmp.Dispose();

    private static float[] Quantised(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(256) / 255f).ToArray();
    }

    private GcnDataException Rejected(string path, params string[] fragments)
    {
        var ex = Assert.Throws<GcnDataException>(() => ImageIO.LoadImageRgb(path))!;
        TestContext.Out.WriteLine(ex.Message);
        Assert.That(ex.Message, Does.Contain(Path.GetFileName(path)));
        foreach (string f in fragments) Assert.That(ex.Message, Does.Contain(f));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
        return ex;
    }

    [Test]
    public void SavePng_LoadImageRgb_RoundTripsRgbExactly()
    {
        float[] chw = Quantised(3 * 5 * 7, 1);
        ImageIO.SavePng(_tmp["a.png"], chw, 3, 5, 7);
        RgbImage back = ImageIO.LoadImageRgb(_tmp["a.png"]);
        Assert.That((back.Height, back.Width, back.Channels), Is.EqualTo((5, 7, 3)));
        Assert.That(back.Chw, Is.EqualTo(chw));
        Assert.That(Directory.GetFiles(_tmp.Path), Has.Length.EqualTo(1), "no temp files left");
    }

    [Test]
    public void SavePng_Grey_ClampsAndLoadsAsThreeEqualPlanes()
    {
        float[] grey = { -1f, 0f, 0.5f, 1f, 7f, float.NaN };
        ImageIO.SavePng(_tmp["g.png"], grey, 1, 2, 3);
        RgbImage back = ImageIO.LoadImageRgb(_tmp["g.png"]);
        float[] expected = { 0f, 0f, 128 / 255f, 1f, 1f, 0f };
        for (int c = 0; c < 3; c++)
            Assert.That(back.Chw.Skip(c * 6).Take(6), Is.EqualTo(expected));
    }

    [Test]
    public void SaveGridPng_PlacesImagesInRowsWithPadding()
    {
        // Three 2x2 RGB images, two columns: grid is 2 cols x 2 rows, padding 1 -> 7 x 7.
        var images = new float[3 * 3 * 4];
        for (int n = 0; n < 3; n++) images[n * 12 + n * 4] = 1f; // image n: channel n, pixel (0,0) full
        ImageIO.SaveGridPng(_tmp["grid.png"], images, 3, 2, 2, columns: 2, padding: 1, padValue: 0.5f);
        RgbImage grid = ImageIO.LoadImageRgb(_tmp["grid.png"]);
        Assert.That((grid.Height, grid.Width), Is.EqualTo((7, 7)));
        float At(int c, int y, int x) => grid.Chw[c * 49 + y * 7 + x];
        Assert.That(At(0, 1, 1), Is.EqualTo(1f));   // image 0 at (1,1), red
        Assert.That(At(1, 1, 4), Is.EqualTo(1f));   // image 1 at (1,4), green
        Assert.That(At(2, 4, 1), Is.EqualTo(1f));   // image 2 at (4,1), blue
        Assert.That(At(0, 0, 0), Is.EqualTo(128 / 255f)); // padding
        Assert.That(At(1, 4, 4), Is.EqualTo(128 / 255f)); // empty cell stays padding colour
    }

    [Test]
    public void Jpeg_Loads()
    {
        WriteJpeg(_tmp["ok.jpg"], 40, 30);
        RgbImage img = ImageIO.LoadImageRgb(_tmp["ok.jpg"]);
        Assert.That((img.Height, img.Width), Is.EqualTo((30, 40)));
        Assert.That(ImageIO.Identify(_tmp["ok.jpg"]), Is.EqualTo(new ImageHeader("JPEG", 40, 30)));
    }

    [Test]
    public void EmptyFile_Rejected()
    {
        File.WriteAllBytes(_tmp["empty.png"], Array.Empty<byte>());
        Rejected(_tmp["empty.png"], "empty");
    }

    [Test]
    public void GifRenamedJpg_Rejected()
    {
        // A complete 1x1 GIF89a: header, screen descriptor, 2-colour table, image, LZW data, trailer.
        byte[] gif = Encoding.ASCII.GetBytes("GIF89a").Concat(new byte[]
        {
            1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255,
            0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B,
        }).ToArray();
        File.WriteAllBytes(_tmp["photo.jpg"], gif);
        Rejected(_tmp["photo.jpg"], "unsupported image format", "GIF", ".jpg", "only PNG and JPEG");
    }

    [Test]
    public void TiffRenamedJpg_Rejected()
    {
        var tiff = new byte[64];
        Encoding.ASCII.GetBytes("II*\0").CopyTo(tiff, 0);
        tiff[4] = 8;
        File.WriteAllBytes(_tmp["scan.jpg"], tiff);
        Rejected(_tmp["scan.jpg"], "unsupported image format", "TIFF");
    }

    [Test]
    public void TextFile_Rejected()
    {
        File.WriteAllText(_tmp["notes.png"], "just some words");
        Rejected(_tmp["notes.png"], "not a recognised image");
    }

    [Test]
    public void HugePngHeader_RejectedWithoutBigAllocation()
    {
        File.WriteAllBytes(_tmp["bomb.png"], CraftPng(60000, 60000));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Rejected(_tmp["bomb.png"], "PNG header says 60000x60000 (3600000000 pixels)", "above the cap of 40000000 pixels");
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(20_000_000));
    }

    [Test]
    public void PixelCap_IsAParameter()
    {
        ImageIO.SavePng(_tmp["s.png"], new float[3 * 10 * 10], 3, 10, 10);
        Assert.DoesNotThrow(() => ImageIO.LoadImageRgb(_tmp["s.png"], 100));
        var ex = Assert.Throws<GcnDataException>(() => ImageIO.LoadImageRgb(_tmp["s.png"], 99));
        Assert.That(ex!.Message, Does.Contain("s.png").And.Contain("10x10 (100 pixels)").And.Contain("cap of 99"));
    }

    [Test]
    public void TruncatedJpeg_Rejected()
    {
        WriteJpeg(_tmp["full.jpg"], 64, 64);
        byte[] bytes = File.ReadAllBytes(_tmp["full.jpg"]);
        File.WriteAllBytes(_tmp["cut.jpg"], bytes[..(bytes.Length * 2 / 3)]);
        Rejected(_tmp["cut.jpg"], "truncated or corrupt JPEG");
        File.WriteAllBytes(_tmp["header-only.jpg"], bytes[..20]);
        Rejected(_tmp["header-only.jpg"]);
    }

    [Test]
    public void TruncatedPng_Rejected()
    {
        ImageIO.SavePng(_tmp["full.png"], Quantised(3 * 32 * 32, 2), 3, 32, 32);
        byte[] bytes = File.ReadAllBytes(_tmp["full.png"]);
        File.WriteAllBytes(_tmp["cut.png"], bytes[..(bytes.Length / 2)]);
        Rejected(_tmp["cut.png"], "truncated or corrupt PNG", "IDAT");
    }

    [Test]
    public void CorruptPngData_Rejected()
    {
        ImageIO.SavePng(_tmp["full.png"], Quantised(3 * 32 * 32, 3), 3, 32, 32);
        byte[] bytes = File.ReadAllBytes(_tmp["full.png"]);
        int idat = Encoding.ASCII.GetString(bytes).IndexOf("IDAT", StringComparison.Ordinal);
        for (int i = idat + 6; i < idat + 40; i++) bytes[i] ^= 0x5A; // scramble compressed data, keep structure
        File.WriteAllBytes(_tmp["bad.png"], bytes);
        Rejected(_tmp["bad.png"], "corrupt");
    }

    [Test]
    public void LinePlot_DrawsSeriesInDistinctColours()
    {
        var loss = Enumerable.Range(0, 200).Select(i => 2.0 * Math.Exp(-i / 50.0) + 0.01).ToList();
        var other = Enumerable.Range(0, 200).Select(i => i == 100 ? double.NaN : 1.0 / (1 + i)).ToList();
        LinePlot.SavePng(_tmp["loss.png"], new[] { new PlotSeries("gen loss", loss), new PlotSeries("cls", other) }, "losses", 400, 300, logY: true);
        RgbImage img = ImageIO.LoadImageRgb(_tmp["loss.png"]);
        Assert.That((img.Height, img.Width), Is.EqualTo((300, 400)));
        int plane = 300 * 400;
        bool Has(byte r, byte g, byte b) => Enumerable.Range(0, plane).Any(i =>
            img.Chw[i] == r / 255f && img.Chw[plane + i] == g / 255f && img.Chw[2 * plane + i] == b / 255f);
        Assert.That(Has(31, 119, 180), Is.True, "first series colour");
        Assert.That(Has(255, 127, 14), Is.True, "second series colour");
        Assert.That(Has(0, 0, 0), Is.True, "axes and text");
    }

    [Test]
    public void LinePlot_LogTicksUseOneStylePerAxis()
    {
        Assert.That(LinePlot.LogTickLabels([-2, 0, 2]), Is.EqualTo(new[] { "0.01", "1", "100" }));
        Assert.That(LinePlot.LogTickLabels([-5, -3, -1, 1]), Is.EqualTo(new[] { "1E-5", "1E-3", "1E-1", "1E1" }));
        Assert.That(LinePlot.LogTickLabels([0.5, 1]), Is.EqualTo(new[] { "3.162E0", "1E1" }));
    }

    [Test]
    public void LinePlot_DegenerateInputs_DoNotThrow()
    {
        Assert.DoesNotThrow(() => LinePlot.Render(Array.Empty<PlotSeries>(), null, 200, 150, false));
        Assert.DoesNotThrow(() => LinePlot.Render(new[] { new PlotSeries("flat", new[] { 3.0, 3.0 }) }, "t", 200, 150, false));
        Assert.DoesNotThrow(() => LinePlot.Render(new[] { new PlotSeries("bad", new[] { double.NaN, 0, -1 }) }, null, 200, 150, true));
        Assert.DoesNotThrow(() => LinePlot.Render(new[] { new PlotSeries("tiny range", new[] { 1e12, 1e12 + 1e-3 }) }, null, 200, 150, false));
    }

    private static void WriteJpeg(string path, int width, int height)
    {
        var rng = new Random(5);
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 97 + rng.Next(50));
        using var image = Image.LoadPixelData<Rgb24>(pixels, width, height);
        image.Save(path, new JpegEncoder { Quality = 90 });
    }

    /// <summary>A structurally valid PNG (signature, IHDR with correct CRC, empty IDAT, IEND) claiming the given size.</summary>
    internal static byte[] CraftPng(int width, int height)
    {
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB
        WriteChunk(ms, "IHDR", ihdr);
        WriteChunk(ms, "IDAT", new byte[] { 0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 });
        WriteChunk(ms, "IEND", Array.Empty<byte>());
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        var buf = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        s.Write(buf);
        byte[] typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(buf, Crc32(typeAndData));
        s.Write(buf);
    }

    /// <summary>CRC-32 as PNG defines it (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF).</summary>
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
