using System.Text.Json;
using System.Text.Json.Nodes;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>
/// RUN/run.json as <c>gcn train</c> writes it: the data folder, the held-out split and data hash
/// the run trained on, and each feature's value names. Every field read is type-checked: a
/// damaged or hand-edited file is a one-line error naming the file and the field, never a cast
/// error. A field that is absent is null (older runs, runs trained through the library).
/// </summary>
public sealed class RunInfo
{
    private RunInfo(string path, string? data, string? split, string? dataHash, JsonObject? features)
    {
        Path = path;
        Data = data;
        Split = split;
        DataHash = dataHash;
        _features = features;
    }

    private readonly JsonObject? _features;

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The data set folder trained on (<c>data</c>).</summary>
    public string? Data { get; }

    /// <summary>The held-out split trained with (<c>split</c>, see <see cref="Evaluation.SplitId"/>); null or empty when unknown.</summary>
    public string? Split { get; }

    /// <summary>The hash of the pixels and labels trained on (<c>data_hash</c>, see <see cref="Evaluation.DataHash"/>); null or empty when unknown.</summary>
    public string? DataHash { get; }

    /// <summary>Reads RUN/run.json; null when the run folder holds none.</summary>
    public static RunInfo? ReadIfPresent(string runDir)
    {
        string path = System.IO.Path.Combine(runDir, Trainer.RunInfoFile);
        return File.Exists(path) ? Read(path) : null;
    }

    /// <summary>Reads and type-checks a run.json; a damaged file is a <see cref="TrainingException"/> naming it.</summary>
    public static RunInfo Read(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new TrainingException($"{path}: not valid JSON ({e.Message.Split('.')[0]}); expected the run.json that gcn train writes");
        }
        if (root is not JsonObject o)
            throw new TrainingException($"{path}: holds {Describe(root)}; expected a JSON object (the run.json that gcn train writes)");
        JsonObject? features = null;
        if (o.TryGetPropertyValue("features", out var f))
            features = f as JsonObject
                ?? throw new TrainingException($"{path}: field 'features' must be an object (feature name: list of value names), not {Describe(f)}");
        return new RunInfo(path, String(path, o, "data"), String(path, o, "split"), String(path, o, "data_hash"), features);
    }

    /// <summary>
    /// The value names of each feature of <paramref name="config"/>, as the run recorded them
    /// (index = class); null when run.json lists none for some feature (values are then named
    /// by #index). A list of the wrong type or length is an error naming the field.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>>? ValueNames(GcnConfig config)
    {
        if (_features is null) return null;
        var names = new List<IReadOnlyList<string>>();
        foreach (var feature in config.Features)
        {
            if (!_features.TryGetPropertyValue(feature.Name, out var node)) return null;
            string field = $"features.{feature.Name}";
            if (node is not JsonArray values)
                throw new TrainingException($"{Path}: field '{field}' must be an array of value names (strings), not {Describe(node)}");
            var list = new string[values.Count];
            for (int i = 0; i < values.Count; i++)
                list[i] = values[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? v.GetValue<string>()
                    : throw new TrainingException($"{Path}: field '{field}[{i}]' must be a string (a value name), not {Describe(values[i])}");
            if (list.Length != feature.Classes)
                throw new TrainingException(
                    $"{Path}: field '{field}' lists {list.Length} value names; the run's config gives {feature.Name} {feature.Classes} classes");
            names.Add(list);
        }
        return names;
    }

    /// <summary>A string field: null when absent, an error naming the field when of another type.</summary>
    private static string? String(string path, JsonObject o, string field)
    {
        if (!o.TryGetPropertyValue(field, out var node)) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw new TrainingException($"{path}: field '{field}' must be a string, not {Describe(node)}");
    }

    /// <summary>What a JSON value is, for a message: "a number", "an array", "null".</summary>
    private static string Describe(JsonNode? node) => (node?.GetValueKind() ?? JsonValueKind.Null) switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
