using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace GcnNative.Model;

/// <summary>
/// Turns a <see cref="JsonException"/> from reading a config into one line naming the file, the
/// field (its <see cref="JsonException.Path"/> in the config's own spelling) and what was
/// expected, instead of .NET's own wording (".. could not be converted to System.Int32").
/// </summary>
internal static class ConfigJsonError
{
    public static ConfigException From(JsonException e, string json, string source)
    {
        var path = Segments(e.Path);
        string field = Field(path);
        string line = e.LineNumber is null ? "" : $" (line {e.LineNumber + 1})";
        string message = e.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
            return new ConfigException(
                $"{source}: unknown field '{field}'{line}; check the spelling (`gcn presets --show mnist` prints every field)");
        if (message.StartsWith("Duplicate propert", StringComparison.Ordinal))
            return new ConfigException($"{source}: key '{field}'{line} is given twice; give it once");
        if (message.Contains("could not be converted", StringComparison.Ordinal)
            || message.Contains("doesn't allow setting null", StringComparison.Ordinal))
        {
            var value = ValueAt(json, path);
            string expected = Expected(TypeAt(path), value);
            string got = Got(value);
            return field.Length == 0
                ? new ConfigException($"{source}: the file must hold a JSON object (a config){got}")
                : new ConfigException($"{source}: field '{field}'{line} must be {expected}{got}");
        }
        if (e.InnerException is not null && message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
            return new ConfigException($"{source}: the file is empty; expected a JSON object (a config)");
        // malformed JSON: the reader's own description of what it found is the useful part
        string first = message.Split('\n')[0].Trim();
        int cut = first.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut > 0) first = first[..cut];
        return new ConfigException($"{source}: invalid config at '{field}'{line}: {first}");
    }

    /// <summary>"$.features[0]['a.b']" as segments: property names (strings) and list indices (ints).</summary>
    private static List<object> Segments(string? path)
    {
        var result = new List<object>();
        if (string.IsNullOrEmpty(path)) return result;
        int i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                int end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                result.Add(path[(i + 1)..end]);
                i = end;
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] == '\'')
            {
                int end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) break;
                result.Add(path[(i + 2)..end]);
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                int end = path.IndexOf(']', i);
                if (end < 0 || !int.TryParse(path.AsSpan(i + 1, end - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    break;
                result.Add(n);
                i = end + 1;
            }
            else break;
        }
        return result;
    }

    /// <summary>training.batch, features[0].classes, loss.feature_weights.colour.</summary>
    private static string Field(List<object> path)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var s in path)
        {
            if (s is int n) sb.Append(CultureInfo.InvariantCulture, $"[{n}]");
            else sb.Append(sb.Length == 0 ? "" : ".").Append((string)s);
        }
        return sb.ToString();
    }

    /// <summary>The .NET type the config expects at <paramref name="path"/>; null when it cannot be told.</summary>
    private static Type? TypeAt(List<object> path)
    {
        Type? t = typeof(GcnConfig);
        foreach (var s in path)
        {
            if (t is null) return null;
            t = Nullable.GetUnderlyingType(t) ?? t;
            if (s is int) t = ElementType(t);
            else if (DictionaryValueType(t) is { } value) t = value;
            else
                t = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(p => p.CanWrite && JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name) == (string)s)?.PropertyType;
        }
        return t is null ? null : Nullable.GetUnderlyingType(t) ?? t;
    }

    private static Type? ElementType(Type t) =>
        t.IsArray ? t.GetElementType()
        : t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>) ? t.GetGenericArguments()[0] : null;

    private static Type? DictionaryValueType(Type t) =>
        t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? t.GetGenericArguments()[1] : null;

    /// <summary>"an integer", "a number", "a list of strings", "an object" ...</summary>
    private static string Expected(Type? t, JsonElement? given)
    {
        if (t is null) return "of another type";
        if (t == typeof(int))
            return given is { ValueKind: JsonValueKind.Number } n && double.TryParse(n.GetRawText(), NumberStyles.Float,
                CultureInfo.InvariantCulture, out double v) && v == Math.Floor(v)
                ? "an integer from -2147483648 to 2147483647"   // 1e10: a whole number, too large
                : "an integer";
        if (t == typeof(float) || t == typeof(double)) return "a number";
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (DictionaryValueType(t) is { } value) return $"an object whose values are {Plural(value)}";
        if (ElementType(t) is { } element) return $"a list of {Plural(element)}";
        return "an object";
    }

    private static string Plural(Type t) =>
        t == typeof(int) ? "integers"
        : t == typeof(float) || t == typeof(double) ? "numbers"
        : t == typeof(string) ? "strings"
        : t == typeof(bool) ? "true or false"
        : ElementType(t) is { } e ? $"lists of {Plural(e)}"
        : "objects";

    /// <summary>", got the string \"64\"", ", got a list" ...; empty when the value cannot be found.</summary>
    private static string Got(JsonElement? value) => value switch
    {
        null => "",
        { ValueKind: JsonValueKind.String } v => $", got the string \"{Short(v.GetString() ?? "")}\"",
        { ValueKind: JsonValueKind.Number } v => $", got {Short(v.GetRawText())}",
        { ValueKind: JsonValueKind.Array } => ", got a list",
        { ValueKind: JsonValueKind.Object } => ", got an object",
        { ValueKind: JsonValueKind.True } => ", got true",
        { ValueKind: JsonValueKind.False } => ", got false",
        { ValueKind: JsonValueKind.Null } => ", got null",
        _ => "",
    };

    private static string Short(string s) => s.Length <= 40 ? s : s[..37] + "...";

    /// <summary>The value at <paramref name="path"/> in <paramref name="json"/>; null when the text does not parse or has no such value.</summary>
    private static JsonElement? ValueAt(string json, List<object> path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json,
                new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var at = doc.RootElement;
            foreach (var s in path)
            {
                if (s is int n)
                {
                    if (at.ValueKind != JsonValueKind.Array || n >= at.GetArrayLength()) return null;
                    at = at[n];
                }
                else if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty((string)s, out at)) return null;
            }
            return at.Clone();
        }
        catch (JsonException)
        {
            return null;   // the conversion failed before the reader reached a syntax error further on
        }
    }
}
