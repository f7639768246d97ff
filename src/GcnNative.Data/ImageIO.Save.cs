using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace GcnNative.Data;

public static partial class ImageIO
{
    /// <summary>
    /// Saves one CHW float image as PNG (grey for 1 channel, RGB for 3). Values are clamped to
    /// [0,1] and rounded to 0..255; NaN becomes 0. The file is written under a temporary name and
    /// moved into place, so a reader never sees a half-written PNG.
    /// </summary>
    public static void SavePng(string path, ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        CheckShape(chw.Length, channels, height, width, 1);
        var interleaved = new byte[chw.Length];
        Interleave(chw, channels, height * width, interleaved, width, 0, 0, width);
        WritePng(path, interleaved, channels, width, height);
    }

    /// <summary>
    /// Saves images (N*C*H*W floats, N = <paramref name="images"/>.Length / (C*H*W)) as one PNG grid
    /// with <paramref name="columns"/> columns, row after row, separated and framed by
    /// <paramref name="padding"/> pixels of <paramref name="padValue"/> (default white).
    /// </summary>
    public static void SaveGridPng(string path, ReadOnlySpan<float> images, int channels, int height, int width,
        int columns, int padding = 2, float padValue = 1f)
    {
        int imageSize = channels * height * width;
        if (imageSize <= 0 || images.Length == 0 || images.Length % imageSize != 0)
            throw new ArgumentException($"images holds {images.Length} floats, expected a positive multiple of {channels}x{height}x{width}", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns));
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding));
        int count = images.Length / imageSize;
        int cols = Math.Min(columns, count), rows = (count + cols - 1) / cols;
        int gridW = cols * (width + padding) + padding, gridH = rows * (height + padding) + padding;
        CheckShape((long)gridW * gridH * channels, channels, gridH, gridW, 1);
        var grid = new byte[gridW * gridH * channels];
        grid.AsSpan().Fill(ToByte(padValue));
        for (int n = 0; n < count; n++)
        {
            int x0 = padding + n % cols * (width + padding), y0 = padding + n / cols * (height + padding);
            Interleave(images.Slice(n * imageSize, imageSize), channels, height * width, grid, width, x0, y0, gridW);
        }
        WritePng(path, grid, channels, gridW, gridH);
    }

    /// <summary>Copies CHW floats into an interleaved (HWC) byte buffer at (x0, y0), rows of <paramref name="dstWidth"/> pixels.</summary>
    private static void Interleave(ReadOnlySpan<float> chw, int channels, int plane, Span<byte> dst, int width, int x0, int y0, int dstWidth)
    {
        for (int i = 0; i < plane; i++)
        {
            int y = i / width, x = i % width;
            int d = ((y0 + y) * dstWidth + x0 + x) * channels;
            for (int c = 0; c < channels; c++)
                dst[d + c] = ToByte(chw[c * plane + i]);
        }
    }

    private static byte ToByte(float v) => float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);

    private static void CheckShape(long length, int channels, int height, int width, int count)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), "channels must be 1 or 3");
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), "height and width must be positive");
        if ((long)height * width > DefaultMaxPixels)
            throw new ArgumentOutOfRangeException(nameof(height), $"{width}x{height} is above the {DefaultMaxPixels}-pixel cap");
        if (length != (long)count * channels * height * width)
            throw new ArgumentException($"got {length} values, expected {channels}x{height}x{width}");
    }

    /// <summary>Encodes interleaved 8-bit pixels (1 or 3 channels) as PNG, atomically.</summary>
    internal static void WritePng(string path, byte[] interleaved, int channels, int width, int height)
    {
        using Image image = channels == 1
            ? Image.LoadPixelData<L8>(Configuration, interleaved, width, height)
            : Image.LoadPixelData<Rgb24>(Configuration, interleaved, width, height);
        var encoder = new PngEncoder
        {
            ColorType = channels == 1 ? PngColorType.Grayscale : PngColorType.Rgb,
            BitDepth = PngBitDepth.Bit8,
        };
        AtomicFiles.Write(path, stream => image.Save(stream, encoder));
    }
}
