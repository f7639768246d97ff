using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;

namespace GcnNative.Data;

/// <summary>An RGB image as floats in [0,1], three planes (R, G, B) of <see cref="Height"/> x <see cref="Width"/>.</summary>
public sealed record RgbImage(float[] Chw, int Height, int Width)
{
    /// <summary>Always 3.</summary>
    public int Channels => 3;
}

/// <summary>Size and format of an image file, read from its header only.</summary>
public sealed record ImageHeader(string Format, int Width, int Height);

/// <summary>
/// Image reading and writing restricted to PNG and JPEG, for untrusted files.
/// </summary>
/// <remarks>
/// Reading is defensive: the file size is bounded, the header is identified first and images over
/// a pixel cap are refused before anything is decoded (a 60000x60000 PNG costs a few bytes of
/// header, not gigabytes), the file is checked for truncation, and metadata (EXIF, ICC, text) is
/// ignored. Only the PNG and JPEG decoders are registered, so other formats (GIF, TIFF, BMP, WebP,
/// whatever the file name says) are refused rather than handed to a larger attack surface.
/// Pixels are used as stored: EXIF orientation and ICC colour profiles are not applied.
/// </remarks>
public static partial class ImageIO
{
    /// <summary>Default pixel cap for <see cref="LoadImageRgb"/>: 40 megapixels.</summary>
    public const int DefaultMaxPixels = 40_000_000;

    /// <summary>Files larger than this are refused without being read.</summary>
    public const long MaxFileBytes = 512L << 20;

    /// <summary>An ImageSharp configuration that knows only PNG and JPEG.</summary>
    public static Configuration Configuration { get; } = new(new PngConfigurationModule(), new JpegConfigurationModule());

    /// <summary>Reads only the header of a PNG or JPEG file.</summary>
    /// <exception cref="GcnDataException">Missing, empty, too large, unsupported format or corrupt header.</exception>
    public static ImageHeader Identify(string path) => Identify(ReadFileBytes(path), path);

    /// <summary>
    /// Loads a PNG or JPEG as RGB floats in [0,1] (CHW). Grey images are expanded to three equal
    /// planes; alpha is dropped (not composited).
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">Refuse images whose header claims more pixels than this.</param>
    /// <exception cref="GcnDataException">Empty file, unsupported format, header over the pixel cap,
    /// truncated or corrupt data; the message names the file and the reason.</exception>
    public static RgbImage LoadImageRgb(string path, int maxPixels = DefaultMaxPixels)
    {
        byte[] bytes = ReadFileBytes(path);
        ImageHeader header = Identify(bytes, path);
        long pixels = (long)header.Width * header.Height;
        if (pixels > maxPixels)
            throw new GcnDataException(path, $"{header.Format} header says {header.Width}x{header.Height} ({pixels} pixels), " +
                $"above the cap of {maxPixels} pixels");
        string? truncation = header.Format == "PNG" ? CheckPngComplete(bytes) : CheckJpegComplete(bytes);
        if (truncation != null)
            throw new GcnDataException(path, $"truncated or corrupt {header.Format}: {truncation}");
        using Image<Rgb24> image = Decode(bytes, header.Format, path);
        return ToChw(image);
    }

    private static byte[] ReadFileBytes(string path)
    {
        if (!File.Exists(path)) throw new GcnDataException(path, "file not found");
        long length = new FileInfo(path).Length;
        if (length == 0) throw new GcnDataException(path, "file is empty (0 bytes), expected a PNG or JPEG image");
        if (length > MaxFileBytes)
            throw new GcnDataException(path, $"file is {length} bytes, above the {MaxFileBytes}-byte limit for one image");
        return File.ReadAllBytes(path);
    }

    private static ImageHeader Identify(byte[] bytes, string path)
    {
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(Configuration, new MemoryStream(bytes, writable: false), out format);
        }
        catch (UnknownImageFormatException)
        {
            info = null;
            format = null;
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw new GcnDataException($"{path}: corrupt image, unreadable header or chunk ({ex.Message})", ex);
        }
        if (info == null || format == null)
            throw new GcnDataException(path, $"unsupported image format: {DescribeContent(bytes, path)}; only PNG and JPEG are accepted");
        return new ImageHeader(format is PngFormat ? "PNG" : "JPEG", info.Width, info.Height);
    }

    /// <summary>Exceptions that mean "bad input" rather than a bug in our code.</summary>
    private static bool IsDecodeFailure(Exception ex) => ex is ImageFormatException or InvalidDataException
        or EndOfStreamException or NotSupportedException or ArgumentException or IndexOutOfRangeException
        or InvalidMemoryOperationException or OverflowException;

    /// <summary>Names a few formats by their magic bytes so the user learns what the file really is.</summary>
    private static string DescribeContent(byte[] b, string path)
    {
        static bool StartsWith(byte[] b, string ascii) => b.Length >= ascii.Length && ascii.Select((c, i) => b[i] == c).All(x => x);
        string? kind =
            StartsWith(b, "GIF8") ? "GIF" :
            StartsWith(b, "II*\0") || StartsWith(b, "MM\0*") ? "TIFF" :
            StartsWith(b, "BM") ? "BMP" :
            StartsWith(b, "RIFF") && b.Length >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P' ? "WebP" :
            null;
        string ext = Path.GetExtension(path);
        if (kind != null)
            return $"the content is a {kind} image" + (ext.Length > 0 ? $" (whatever its {ext} extension says)" : "");
        return $"the content is not a recognised image (starts with {Convert.ToHexString(b, 0, Math.Min(8, b.Length))})";
    }

    private static Image<Rgb24> Decode(byte[] bytes, string format, string path)
    {
        IImageDecoder decoder = format == "PNG"
            ? new PngDecoder { IgnoreMetadata = true }
            : new JpegDecoder { IgnoreMetadata = true };
        try
        {
            return Image.Load<Rgb24>(Configuration, new MemoryStream(bytes, writable: false), decoder);
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw new GcnDataException($"{path}: corrupt or truncated {format} data ({ex.Message})", ex);
        }
    }

    private static RgbImage ToChw(Image<Rgb24> image)
    {
        int h = image.Height, w = image.Width, plane = h * w;
        var rgb = new Rgb24[plane];
        image.CopyPixelDataTo(rgb);
        var chw = new float[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            chw[i] = rgb[i].R / 255f;
            chw[plane + i] = rgb[i].G / 255f;
            chw[2 * plane + i] = rgb[i].B / 255f;
        }
        return new RgbImage(chw, h, w);
    }
}
