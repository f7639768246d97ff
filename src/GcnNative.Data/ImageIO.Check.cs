using System.Buffers.Binary;

namespace GcnNative.Data;

public static partial class ImageIO
{
    /// <summary>
    /// Walks the PNG chunk list (length, type, data, CRC) and requires it to reach IEND inside the
    /// file. Decoders may quietly return a partly black image for a cut-off file; we refuse it.
    /// Returns null when complete, else the reason.
    /// </summary>
    internal static string? CheckPngComplete(ReadOnlySpan<byte> png)
    {
        long pos = 8; // signature
        string last = "signature";
        while (true)
        {
            if (pos + 8 > png.Length) return $"the file ends after chunk '{last}' without an IEND chunk";
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.Slice((int)pos));
            string type = System.Text.Encoding.ASCII.GetString(png.Slice((int)pos + 4, 4));
            if (pos + 12 + length > png.Length)
                return $"chunk '{type}' claims {length} bytes but only {Math.Max(0, png.Length - pos - 12)} remain";
            if (type == "IEND") return null;
            pos += 12 + length;
            last = type;
        }
    }

    /// <summary>
    /// Requires an end-of-image marker (FF D9) after the last start-of-scan marker (FF DA).
    /// Inside entropy-coded data a real FF byte is always followed by 00 or a restart marker, so
    /// these two markers cannot appear by accident there. Returns null when complete, else the reason.
    /// </summary>
    internal static string? CheckJpegComplete(ReadOnlySpan<byte> jpeg)
    {
        int lastScan = -1;
        for (int i = 0; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) lastScan = i;
        if (lastScan < 0) return "no start-of-scan marker (FF DA), so no image data";
        for (int i = lastScan + 2; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xD9) return null;
        return "the image data has no end-of-image marker (FF D9); the file was cut off";
    }
}
