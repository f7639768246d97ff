using System.Buffers.Binary;
using System.IO.Compression;

namespace GcnNative.Data;

/// <summary>Images read from an IDX file: <see cref="Pixels"/> holds Count*Rows*Cols bytes, image after image, row-major.</summary>
public sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels);

/// <summary>
/// Reads unsigned-byte IDX files (the MNIST format): a big-endian header with magic
/// 0x00000800 | number-of-dimensions, then one big-endian uint32 per dimension, then the data.
/// Raw and gzip-compressed files are accepted; gzip is recognised by its content (1F 8B), not by name.
/// </summary>
/// <remarks>
/// A header is never trusted for allocation: for raw files the claimed size is compared with the
/// file length first; for gzip, whose decompressed length is unknown up front, data is read in
/// growing chunks up to the claimed size, so a lying header costs only what the stream really holds.
/// </remarks>
public static class IdxReader
{
    /// <summary>Headers claiming more data bytes than this are rejected as absurd.</summary>
    public const long MaxDataBytes = 100_000_000;

    /// <summary>Magic of an IDX file of unsigned-byte images (3 dimensions).</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Magic of an IDX file of unsigned-byte labels (1 dimension).</summary>
    public const uint LabelsMagic = 0x00000801;

    /// <summary>Reads an images file (magic 0x00000803: count, rows, cols).</summary>
    /// <exception cref="GcnDataException">Missing, empty, truncated, corrupt or inconsistent file.</exception>
    public static IdxImages ReadImages(string path)
    {
        var (dims, data) = Read(path, 3);
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a labels file (magic 0x00000801: count) and returns one byte per item.</summary>
    /// <exception cref="GcnDataException">Missing, empty, truncated, corrupt or inconsistent file.</exception>
    public static byte[] ReadLabels(string path) => Read(path, 1).Data;

    private static (int[] Dims, byte[] Data) Read(string path, int dimCount)
    {
        if (!File.Exists(path)) throw new GcnDataException(path, "file not found");
        long fileLength = new FileInfo(path).Length;
        if (fileLength == 0)
            throw new GcnDataException(path, $"file is empty (0 bytes), expected an IDX header of {4 + 4 * dimCount} bytes and data");
        try
        {
            using Stream file = File.OpenRead(path);
            bool gzip = IsGzip(file);
            using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            int[] dims = ReadHeader(stream, path, dimCount);
            long expected = dims.Aggregate(1L, (a, d) => a * d);
            string claim = $"header says {Describe(dims)} ({expected} bytes)";
            if (expected > MaxDataBytes)
                throw new GcnDataException(path, $"{claim}, more than the {MaxDataBytes} bytes this reader accepts; the header is probably corrupt");
            long headerBytes = 4 + 4L * dimCount;
            if (!gzip && fileLength - headerBytes != expected)
                throw new GcnDataException(path, $"{claim} but the file has {fileLength - headerBytes} bytes of {DataWord(dimCount)} data");
            byte[] data = ReadCapped(stream, (int)expected, path, claim, dimCount);
            if (gzip && stream.ReadByte() >= 0)
                throw new GcnDataException(path, $"{claim} but the decompressed file has more {DataWord(dimCount)} data than that");
            return (dims, data);
        }
        catch (InvalidDataException ex)
        {
            throw new GcnDataException($"{path}: corrupt gzip data ({ex.Message})", ex);
        }
    }

    private static bool IsGzip(Stream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        return n == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    }

    private static int[] ReadHeader(Stream stream, string path, int dimCount)
    {
        int headerBytes = 4 + 4 * dimCount;
        var header = new byte[headerBytes];
        int n = stream.ReadAtLeast(header, headerBytes, throwOnEndOfStream: false);
        if (n < headerBytes)
            throw new GcnDataException(path, $"truncated: only {n} bytes, expected an IDX header of {headerBytes} bytes");
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        uint expectedMagic = 0x00000800u | (uint)dimCount;
        if (magic != expectedMagic)
            throw new GcnDataException(path, $"magic number is 0x{magic:X8}{MagicHint(magic)}, expected 0x{expectedMagic:X8} (IDX {(dimCount == 1 ? "labels" : "images")})");
        var dims = new int[dimCount];
        for (int i = 0; i < dimCount; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4 + 4 * i));
            if (d == 0 || d > int.MaxValue)
                throw new GcnDataException(path, $"header dimension {i + 1} is {d}, expected 1..{int.MaxValue} (an empty or corrupt IDX file)");
            dims[i] = (int)d;
        }
        return dims;
    }

    private static string MagicHint(uint magic) => magic switch
    {
        ImagesMagic => " (IDX images)",
        LabelsMagic => " (IDX labels)",
        _ when (magic >> 16) != 0 => " (not an IDX file)",
        _ => " (an IDX file of another element type or rank)",
    };

    private static string DataWord(int dimCount) => dimCount == 1 ? "label" : "pixel";

    private static string Describe(int[] dims) => dims.Length switch
    {
        1 => $"{dims[0]} labels",
        3 => $"{dims[0]} images of {dims[1]}x{dims[2]}",
        _ => string.Join("x", dims),
    };

    /// <summary>Reads exactly <paramref name="length"/> bytes, growing the buffer as data actually arrives.</summary>
    private static byte[] ReadCapped(Stream stream, int length, string path, string claim, int dimCount)
    {
        var buffer = new byte[Math.Min(length, 1 << 20)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(length, 2L * buffer.Length));
            int n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
                throw new GcnDataException(path, $"{claim} but the file has only {filled} bytes of {DataWord(dimCount)} data (truncated)");
            filled += n;
        }
        return buffer;
    }
}
