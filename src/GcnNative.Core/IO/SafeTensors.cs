using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GcnNative.IO;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to {dtype, shape, data_offsets} (offsets relative to the
/// end of the header) plus an optional "__metadata__" map of strings, then the raw
/// little-endian data. Only F32 is written. Files are written to a temporary name in the
/// same folder and renamed, so a crash never leaves a half-written checkpoint.
/// </summary>
public static class SafeTensors
{
    /// <summary>Largest header accepted on load; real headers are a few kilobytes.</summary>
    public const int MaxHeaderBytes = 16 << 20;

    public static void Save(string path, IReadOnlyList<(string Name, int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            if (Tensor.CountOf(shape) != data.Length)
                throw new ArgumentException($"safetensors: '{name}' has {data.Length} values for shape {Tensor.ShapeString(shape)}");
            long end = offset + 4L * data.Length;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // pad the header with spaces to a multiple of 8 so the data is aligned
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            stream.Write(len);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, _, data) in tensors)
            {
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan());
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian host");
                stream.Write(bytes);
            }
        });
    }

    public sealed record LoadedTensor(string Name, int[] Shape, float[] Data);

    public static (Dictionary<string, LoadedTensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new IOException($"{path}: checkpoint not found");
        using var fs = File.OpenRead(path);
        long fileLength = fs.Length;
        Span<byte> len = stackalloc byte[8];
        if (fs.Read(len) != 8) throw new InvalidDataException($"{path}: not a safetensors file (shorter than 8 bytes)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (headerLength == 0 || headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} does not fit the file ({fileLength} bytes)");
        var headerBytes = new byte[headerLength];
        fs.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new InvalidDataException("empty header");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: header is not a JSON object: {e.Message}");
        }
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;
        var tensors = new Dictionary<string, LoadedTensor>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            // a malformed entry (missing field, wrong JSON type, negative dimension) is bad data,
            // reported with the file and the entry rather than as a null reference or cast error
            try
            {
                LoadEntry(path, fs, name, node, dataStart, dataLength, tensors, metadata);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
            {
                throw new InvalidDataException($"{path}: header entry '{name}' is malformed: {e.Message}");
            }
        }
        return (tensors, metadata);
    }

    private static void LoadEntry(string path, FileStream fs, string name, JsonNode? node, long dataStart,
        long dataLength, Dictionary<string, LoadedTensor> tensors, Dictionary<string, string> metadata)
    {
        if (name == "__metadata__")
        {
            var meta = node?.AsObject() ?? throw new InvalidDataException($"{path}: __metadata__ is null");
            foreach (var (k, v) in meta)
                metadata[k] = v is null ? ""
                    : v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                    : throw new InvalidDataException($"{path}: __metadata__ field '{k}' must be a string (safetensors metadata holds strings), not a {v.GetValueKind().ToString().ToLowerInvariant()}");
            return;
        }
        var o = node?.AsObject() ?? throw new InvalidDataException($"{path}: tensor '{name}' has no description");
        string dtype = o["dtype"]?.GetValue<string>() ?? "";
        if (dtype != "F32") throw new InvalidDataException($"{path}: tensor '{name}' has dtype {dtype}, expected F32");
        var shapeNode = o["shape"] ?? throw new InvalidDataException($"{path}: tensor '{name}' has no shape");
        var offsetsNode = o["data_offsets"] ?? throw new InvalidDataException($"{path}: tensor '{name}' has no data_offsets");
        int[] shape = shapeNode.AsArray()
            .Select(d => d?.GetValue<int>() ?? throw new InvalidDataException($"{path}: tensor '{name}' has a null dimension"))
            .ToArray();
        var offsets = offsetsNode.AsArray()
            .Select(d => d?.GetValue<long>() ?? throw new InvalidDataException($"{path}: tensor '{name}' has a null offset"))
            .ToArray();
        long count = Tensor.CountOf(shape);
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > dataLength || offsets[1] - offsets[0] != 4 * count)
            throw new InvalidDataException(
                $"{path}: tensor '{name}' data_offsets [{string.Join(", ", offsets)}] do not match shape {Tensor.ShapeString(shape)} and the file's {dataLength} data bytes");
        var data = new float[count];
        fs.Position = dataStart + offsets[0];
        fs.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        tensors[name] = new LoadedTensor(name, shape, data);
    }
}

/// <summary>Writes a file through a temporary sibling and a rename, so readers see old or new, never half.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, s => s.Write(Encoding.UTF8.GetBytes(text)));

    /// <summary>Whether a file name is a writer's temporary (".NAME.ID.tmp", never renamed into place if killed).</summary>
    public static bool IsTemporary(string fileName) =>
        fileName.StartsWith('.') && fileName.EndsWith(".tmp", StringComparison.Ordinal);

    /// <summary>
    /// Deletes the temporaries a killed writer left in <paramref name="dir"/>, for files named
    /// <paramref name="name"/> (all names by default); one in use or already gone is left alone.
    /// </summary>
    public static void RemoveLeftovers(string dir, string name = "*")
    {
        if (!Directory.Exists(dir)) return;
        foreach (string stale in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
        {
            try { File.Delete(stale); }
            catch (IOException) { /* in use or gone: leave it */ }
        }
    }
}
