namespace GcnNative.Data;

/// <summary>
/// What an importer skipped and why: per category, the files (relative to the source) with a
/// short reason. Nothing an importer skips is left out of its report.
/// </summary>
public sealed class ImportReport
{
    /// <summary>Name does not follow the expected pattern, or contradicts its folder.</summary>
    public const string Misnamed = "misnamed";
    /// <summary>Extension is not .jpg, .jpeg or .png.</summary>
    public const string NotAnImage = "not an image";
    /// <summary>An image extension but other content (TIFF, GIF, BMP, text ...).</summary>
    public const string Unsupported = "unsupported format";
    /// <summary>Header claims more pixels than the cap.</summary>
    public const string TooLarge = "too large";
    /// <summary>Truncated or corrupt PNG/JPEG data.</summary>
    public const string Corrupt = "corrupt or truncated";
    /// <summary>A 0-byte file.</summary>
    public const string Empty = "empty file";
    /// <summary>All black or near-constant picture (a placeholder, not a face).</summary>
    public const string Blank = "blank placeholder";
    /// <summary>A symbolic link not followed: to a folder, to nowhere, or out of the source folder.</summary>
    public const string Link = "symbolic link";
    /// <summary>A second file for the same labels; the first good one (path order) is kept.</summary>
    public const string Duplicate = "duplicate";

    private readonly SortedDictionary<string, List<(string File, string Reason)>> _skipped = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _ignored = new(StringComparer.Ordinal);

    /// <summary>Files skipped as defects: category -> (file, reason), in the order found.</summary>
    public IReadOnlyDictionary<string, List<(string File, string Reason)>> Skipped => _skipped;

    /// <summary>Files left out by design (e.g. other camera angles), counted but not listed: reason -> count.</summary>
    public IReadOnlyDictionary<string, int> Ignored => _ignored;

    /// <summary>Label combinations the source should have but that have no usable image.</summary>
    public List<string> Missing { get; } = new();

    /// <summary>Number of source images imported.</summary>
    public int Imported { get; set; }

    /// <summary>Number of files skipped as defects.</summary>
    public int SkippedCount => _skipped.Values.Sum(l => l.Count);

    /// <summary>Records a skipped file.</summary>
    public void Skip(string category, string file, string reason)
    {
        lock (_skipped)
        {
            if (!_skipped.TryGetValue(category, out var list)) _skipped[category] = list = new();
            list.Add((file, reason));
        }
    }

    /// <summary>Counts a file left out by design.</summary>
    public void Ignore(string reason)
    {
        lock (_ignored) _ignored[reason] = _ignored.GetValueOrDefault(reason) + 1;
    }

    /// <summary>Number of files in <paramref name="category"/>.</summary>
    public int Count(string category) => _skipped.TryGetValue(category, out var list) ? list.Count : 0;

    /// <summary>Writes the skipped files (every one, one per line, grouped by category) and missing combinations.</summary>
    public void WriteTo(TextWriter log, string prefix)
    {
        if (_ignored.Count > 0)
            log.WriteLine($"{prefix}: left out by design: {string.Join(", ", _ignored.Select(kv => $"{kv.Value} {kv.Key}"))}");
        if (_skipped.Count == 0)
            log.WriteLine($"{prefix}: no file skipped as defective");
        else
        {
            log.WriteLine($"{prefix}: skipped {SkippedCount} defective files: " +
                string.Join(", ", _skipped.Select(kv => $"{kv.Value.Count} {kv.Key}")));
            foreach (var (category, list) in _skipped)
                foreach (var (file, reason) in list)
                    log.WriteLine($"{prefix}:   {category}: {file}: {reason}");
        }
        if (Missing.Count > 0)
            log.WriteLine($"{prefix}: {Missing.Count} combinations have no usable image: {string.Join(", ", Missing)}");
    }
}
