namespace GcnNative.Data;

/// <summary>
/// One discrete feature of a dataset (e.g. <c>digit</c> with values <c>"0".."9"</c>).
/// Labels store the index of a value in <see cref="Values"/>.
/// </summary>
public sealed class DatasetFeature
{
    private readonly string[] _values;

    /// <summary>Creates a feature; names are checked when a <see cref="Dataset"/> is built from it.</summary>
    public DatasetFeature(string name, IEnumerable<string> values)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        _values = (values ?? throw new ArgumentNullException(nameof(values))).ToArray();
    }

    /// <summary>The feature's name, as used in <c>labels.csv</c> and <c>heldout.csv</c> headers.</summary>
    public string Name { get; }

    /// <summary>The class names; a label is an index into this list.</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>Number of classes.</summary>
    public int Count => _values.Length;

    /// <summary>Index of the class called <paramref name="value"/> (ordinal match), or -1.</summary>
    public int IndexOf(string value) => Array.IndexOf(_values, value);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}({Count})";

    /// <summary>
    /// Checks that names fit the plain CSV files we write (no quoting is ever needed)
    /// and that <c>*</c>, the held-out wildcard, stays unambiguous.
    /// </summary>
    internal static string? CheckName(string name)
    {
        if (name.Length == 0) return "is empty";
        if (name != name.Trim()) return "has leading or trailing spaces";
        if (name == "*") return "is '*', which heldout.csv reserves as the wildcard";
        if (name.StartsWith('#')) return "starts with '#', which CSV files here treat as a comment";
        foreach (char c in name)
            if (c == ',' || c == '"' || char.IsControl(c))
                return "contains a comma, a quote or a control character";
        return null;
    }
}
