using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GcnNative.Data;

public sealed partial class Dataset
{
    /// <summary>Manifest files larger than this are refused (a real one is a few kilobytes).</summary>
    private const long MaxManifestBytes = 16 << 20;

    /// <summary>
    /// Reads and validates the dataset in folder <paramref name="dir"/>.
    /// </summary>
    /// <exception cref="GcnDataException">Any missing file, missing or mistyped manifest field,
    /// size mismatch or out-of-range label; the message names the file and field.</exception>
    public static Dataset Load(string dir)
    {
        if (!Directory.Exists(dir))
            throw new GcnDataException(dir, File.Exists(dir)
                ? "is a file, expected a dataset folder (with dataset.json, images.u8 and labels.csv)"
                : "dataset folder not found");
        string manifestPath = Path.Combine(dir, ManifestFile);
        var m = ReadManifest(manifestPath);
        byte[] pixels = ReadPixels(Path.Combine(dir, ImagesFile), m, manifestPath);
        int[][] labels = ReadLabels(Path.Combine(dir, LabelsFile), m.Count, m.Features, manifestPath);
        string heldoutPath = Path.Combine(dir, HeldoutFile);
        HeldoutSplit heldout = File.Exists(heldoutPath)
            ? HeldoutSplit.Parse(ReadSmallText(heldoutPath), m.Features, heldoutPath)
            : HeldoutSplit.Empty(m.Features);
        return new Dataset(m.Name, m.Channels, m.Height, m.Width, m.Features, pixels, labels, heldout);
    }

    /// <summary>
    /// The length of what a path names, following symbolic links (FileInfo gives the link's
    /// own); nothing is opened, so a special file cannot block the check.
    /// </summary>
    private static long LengthOf(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not FileInfo { Exists: true } file)
                throw new GcnDataException(path, $"is a symbolic link to {target?.FullName ?? info.LinkTarget}, which is not a file");
            info = file;
        }
        return info.Length;
    }

    /// <summary>"not found", or what is there instead of a file.</summary>
    private static string Missing(string path) => Directory.Exists(path) ? "is a folder" : "not found";

    private static string ReadSmallText(string path)
    {
        long length = LengthOf(path);
        if (length > MaxManifestBytes)
            throw new GcnDataException(path, $"is {length} bytes, expected a small text file (at most {MaxManifestBytes} bytes)");
        return File.ReadAllText(path);
    }

    private sealed record Manifest(string Name, int Channels, int Height, int Width, int Count, DatasetFeature[] Features);

    private static Manifest ReadManifest(string path)
    {
        if (!File.Exists(path))
            throw new GcnDataException(path, $"{Missing(path)}, expected a dataset folder with dataset.json, images.u8 and labels.csv");
        long length = LengthOf(path);
        if (length > MaxManifestBytes)
            throw new GcnDataException(path, $"is {length} bytes, expected a small JSON manifest (at most {MaxManifestBytes} bytes)");
        JsonDocument doc;
        // a key given twice is an error, not "the last one wins"
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException ex)
        {
            string line = ex.LineNumber is { } n ? $" (line {n + 1})" : "";
            throw new GcnDataException($"{path}: not valid JSON{line}: {FirstLine(ex.Message)}", ex);
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new GcnDataException(path, $"expected a JSON object at the top level, found {root.ValueKind}");
            string format = JsonString(root, "format", path);
            if (format != FormatId)
                throw new GcnDataException(path, $"field 'format' is '{format}', expected '{FormatId}'");
            var m = new Manifest(
                JsonString(root, "name", path),
                JsonInt(root, "channels", path, 1, 3),
                JsonInt(root, "height", path, 1, 1 << 16),
                JsonInt(root, "width", path, 1, 1 << 16),
                JsonInt(root, "count", path, 0, int.MaxValue),
                JsonFeatures(root, path));
            if (m.Channels == 2)
                throw new GcnDataException(path, "field 'channels' is 2, expected 1 (grey) or 3 (RGB)");
            ValidateFeatures(m.Name, m.Features, $"{path}: field 'features'");
            return m;
        }
    }

    private static JsonElement JsonField(JsonElement obj, string field, string path, JsonValueKind kind, string expected)
    {
        if (!obj.TryGetProperty(field, out JsonElement value))
            throw new GcnDataException(path, $"field '{field}' is missing, expected {expected}");
        if (value.ValueKind != kind)
            throw new GcnDataException(path, $"field '{field}' is {Describe(value)}, expected {expected}");
        return value;
    }

    private static string JsonString(JsonElement obj, string field, string path) =>
        JsonField(obj, field, path, JsonValueKind.String, "a string").GetString()!;

    private static int JsonInt(JsonElement obj, string field, string path, int min, int max)
    {
        string expected = $"an integer {min}..{max}";
        JsonElement value = JsonField(obj, field, path, JsonValueKind.Number, expected);
        if (!value.TryGetInt64(out long n) || n < min || n > max)
            throw new GcnDataException(path, $"field '{field}' is {value.GetRawText()}, expected {expected}");
        return (int)n;
    }

    private static DatasetFeature[] JsonFeatures(JsonElement root, string path)
    {
        JsonElement array = JsonField(root, "features", path, JsonValueKind.Array, "an array of {\"name\":..,\"values\":[..]}");
        var features = new List<DatasetFeature>();
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            string field = $"features[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
                throw new GcnDataException(path, $"field '{field}' is {Describe(item)}, expected an object with 'name' and 'values'");
            string name = JsonString(item, "name", path + $" ({field})");
            JsonElement values = JsonField(item, "values", path + $" ({field})", JsonValueKind.Array, "an array of strings");
            var names = new List<string>();
            foreach (JsonElement v in values.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.String)
                    throw new GcnDataException(path, $"field '{field}.values[{names.Count}]' is {Describe(v)}, expected a string");
                names.Add(v.GetString()!);
            }
            features.Add(new DatasetFeature(name, names));
        }
        return features.ToArray();
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{e.GetString()}\"",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => e.GetRawText(),
    };

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private static byte[] ReadPixels(string path, Manifest m, string manifestPath)
    {
        long expected = (long)m.Count * m.Channels * m.Height * m.Width;
        if (!File.Exists(path))
            throw new GcnDataException(path, $"{Missing(path)}, expected {expected} bytes of pixels");
        long actual = LengthOf(path);
        // Compare before allocating: a wrong header must not make us allocate what it claims.
        if (actual != expected)
            throw new GcnDataException(path, $"has {actual} bytes but {Path.GetFileName(manifestPath)} says " +
                $"{m.Count} images of {m.Channels}x{m.Height}x{m.Width} ({expected} bytes)");
        if (expected > Array.MaxLength)
            throw new GcnDataException(path, $"{expected} bytes is more than one array can hold ({Array.MaxLength}); split the dataset");
        var pixels = new byte[expected];
        using var stream = File.OpenRead(path);
        stream.ReadExactly(pixels);
        return pixels;
    }

    private static int[][] ReadLabels(string path, int count, DatasetFeature[] features, string manifestPath)
    {
        if (!File.Exists(path))
            throw new GcnDataException(path, $"{Missing(path)}, expected a header and {count} label rows");
        using var reader = new StreamReader(path, Encoding.UTF8);
        string expectedHeader = "index," + string.Join(',', features.Select(f => f.Name));
        string? header = reader.ReadLine();
        if (header == null || Cells(header) != expectedHeader)
            throw new GcnDataException(path, $"line 1: header is '{header?.Trim()}', expected '{expectedHeader}'");
        var labels = new List<int[]>(count);
        int lineNo = 1;
        for (string? line; (line = reader.ReadLine()) != null;)
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            if (labels.Count == count)
                throw new GcnDataException(path, $"line {lineNo}: more label rows than the {count} images {Path.GetFileName(manifestPath)} declares");
            labels.Add(ParseLabelRow(line, labels.Count, features, $"{path} line {lineNo}"));
        }
        if (labels.Count != count)
            throw new GcnDataException(path, $"has {labels.Count} label rows but {Path.GetFileName(manifestPath)} says count {count}");
        return labels.ToArray();
    }

    private static string Cells(string line) => string.Join(',', line.Split(',').Select(c => c.Trim()));

    private static int[] ParseLabelRow(string line, int index, DatasetFeature[] features, string where)
    {
        string[] cells = line.Split(',');
        if (cells.Length != features.Length + 1)
            throw new GcnDataException($"{where}: has {cells.Length} cells, expected {features.Length + 1} (index and one per feature)");
        if (!int.TryParse(cells[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int actualIndex) || actualIndex != index)
            throw new GcnDataException($"{where}, column 1 (index): is '{cells[0].Trim()}', expected {index}");
        var row = new int[features.Length];
        for (int f = 0; f < features.Length; f++)
        {
            string cell = cells[f + 1].Trim();
            int max = features[f].Count - 1;
            if (!int.TryParse(cell, NumberStyles.None, CultureInfo.InvariantCulture, out row[f]) || row[f] > max)
                throw new GcnDataException($"{where}, column {f + 2} ({features[f].Name}): is '{cell}', expected a class index 0..{max}");
        }
        return row;
    }

    private void WriteManifest(Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", FormatId);
        json.WriteString("name", Name);
        json.WriteNumber("channels", Channels);
        json.WriteNumber("height", Height);
        json.WriteNumber("width", Width);
        json.WriteNumber("count", Count);
        json.WriteStartArray("features");
        foreach (DatasetFeature feature in _features)
        {
            json.WriteStartObject();
            json.WriteString("name", feature.Name);
            json.WriteStartArray("values");
            foreach (string value in feature.Values) json.WriteStringValue(value);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
