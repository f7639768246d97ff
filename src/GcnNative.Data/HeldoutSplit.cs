using System.Text;

namespace GcnNative.Data;

/// <summary>
/// The held-out split of a dataset, kept in the user-editable file <c>heldout.csv</c>.
/// </summary>
/// <remarks>
/// Format: lines starting with <c>#</c> and blank lines are ignored. The first other line is a
/// header naming features (any order, any subset; a feature not named matches anything). Each
/// following line is a pattern with one cell per header column: a class name of that feature,
/// or <c>*</c> for any class. An image is held out when its labels match at least one pattern.
/// </remarks>
public sealed class HeldoutSplit
{
    /// <summary>Wildcard cell value in the file, and -1 in <see cref="Patterns"/>.</summary>
    public const string Wildcard = "*";

    private readonly int[][] _patterns;

    private HeldoutSplit(string text, int featureCount, int[][] patterns)
    {
        Text = text;
        FeatureCount = featureCount;
        _patterns = patterns;
    }

    /// <summary>The file's text, exactly as parsed (comments included), so saving keeps user edits.</summary>
    public string Text { get; }

    /// <summary>Number of features the patterns are indexed by (the dataset's feature count).</summary>
    public int FeatureCount { get; }

    /// <summary>
    /// The patterns, one array per row, indexed by the dataset's feature order;
    /// each entry is a class index or -1 for "any".
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>> Patterns => _patterns;

    /// <summary>A split that holds nothing out; its text is just the header.</summary>
    public static HeldoutSplit Empty(IReadOnlyList<DatasetFeature> features) =>
        new(string.Join(',', features.Select(f => f.Name)) + "\n", features.Count, Array.Empty<int[]>());

    /// <summary>True when <paramref name="labels"/> (one class index per feature) matches any pattern.</summary>
    public bool IsHeldOut(ReadOnlySpan<int> labels)
    {
        if (labels.Length != FeatureCount)
            throw new ArgumentException($"expected {FeatureCount} labels, got {labels.Length}", nameof(labels));
        foreach (int[] pattern in _patterns)
            if (Matches(pattern, labels)) return true;
        return false;
    }

    private static bool Matches(int[] pattern, ReadOnlySpan<int> labels)
    {
        for (int f = 0; f < pattern.Length; f++)
            if (pattern[f] >= 0 && pattern[f] != labels[f]) return false;
        return true;
    }

    /// <summary>
    /// Builds the text of a split file from rows of class names (or <c>*</c>), one cell per
    /// feature in dataset order, preceded by <paramref name="comments"/> as <c>#</c> lines.
    /// </summary>
    public static string Format(IReadOnlyList<DatasetFeature> features,
        IEnumerable<IReadOnlyList<string>> rows, IEnumerable<string>? comments = null)
    {
        var sb = new StringBuilder();
        foreach (string line in comments ?? Array.Empty<string>())
            sb.Append("# ").Append(line).Append('\n');
        sb.Append(string.Join(',', features.Select(f => f.Name))).Append('\n');
        foreach (var row in rows)
            sb.Append(string.Join(',', row)).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Parses split text against the dataset's features.
    /// </summary>
    /// <param name="text">The file content.</param>
    /// <param name="features">The dataset's features, in label order.</param>
    /// <param name="fileName">Used in error messages.</param>
    /// <exception cref="GcnDataException">Unknown feature or class name, wrong cell count,
    /// duplicate header column; the message gives file, line and column.</exception>
    public static HeldoutSplit Parse(string text, IReadOnlyList<DatasetFeature> features, string fileName = "heldout.csv")
    {
        string[] lines = text.Split('\n');
        int[]? columns = null; // header column -> feature index
        var patterns = new List<int[]>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r').Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] cells = line.Split(',').Select(c => c.Trim()).ToArray();
            string where = $"{fileName} line {i + 1}";
            if (columns == null)
                columns = ParseHeader(cells, features, where);
            else
                patterns.Add(ParseRow(cells, columns, features, where));
        }
        return new HeldoutSplit(text, features.Count, patterns.ToArray());
    }

    private static int[] ParseHeader(string[] cells, IReadOnlyList<DatasetFeature> features, string where)
    {
        var columns = new int[cells.Length];
        for (int c = 0; c < cells.Length; c++)
        {
            int f = IndexOfFeature(features, cells[c]);
            if (f < 0)
                throw new GcnDataException($"{where}, column {c + 1}: header names unknown feature '{cells[c]}', " +
                    $"expected one of {string.Join(", ", features.Select(x => x.Name))}");
            if (Array.IndexOf(columns, f, 0, c) >= 0)
                throw new GcnDataException($"{where}, column {c + 1}: feature '{cells[c]}' appears twice in the header");
            columns[c] = f;
        }
        return columns;
    }

    private static int[] ParseRow(string[] cells, int[] columns, IReadOnlyList<DatasetFeature> features, string where)
    {
        if (cells.Length != columns.Length)
            throw new GcnDataException($"{where}: has {cells.Length} cells but the header has {columns.Length} columns");
        var pattern = new int[features.Count];
        Array.Fill(pattern, -1);
        for (int c = 0; c < cells.Length; c++)
        {
            if (cells[c] == Wildcard) continue;
            DatasetFeature feature = features[columns[c]];
            int value = feature.IndexOf(cells[c]);
            if (value < 0)
                throw new GcnDataException($"{where}, column {c + 1} ({feature.Name}): unknown value '{cells[c]}', " +
                    $"expected '*' or one of {DescribeValues(feature)}");
            pattern[columns[c]] = value;
        }
        return pattern;
    }

    private static int IndexOfFeature(IReadOnlyList<DatasetFeature> features, string name)
    {
        for (int i = 0; i < features.Count; i++)
            if (features[i].Name == name) return i;
        return -1;
    }

    /// <summary>Lists class names, shortened for features with many classes.</summary>
    internal static string DescribeValues(DatasetFeature feature) =>
        feature.Count <= 12
            ? string.Join(", ", feature.Values)
            : string.Join(", ", feature.Values.Take(10)) + $", ... {feature.Values[^1]} ({feature.Count} values)";
}
