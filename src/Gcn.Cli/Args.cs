using System.Globalization;

namespace GcnNative.Cli;

/// <summary>A user error: printed as one line, exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Minimal option parser: <c>--name value</c>, <c>--name=value</c> and <c>--flag</c>. Every
/// option a command reads must be declared, so a typo is an error instead of a silent default.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags;
    private readonly string _command;

    public Args(string command, IEnumerable<string> args, IEnumerable<string> options, IEnumerable<string> flags)
    {
        _command = command;
        var known = new HashSet<string>(options, StringComparer.Ordinal);
        _flags = new HashSet<string>(flags, StringComparer.Ordinal) { "help" };
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a is "-h") a = "--help";
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                Positional.Add(a);
                continue;
            }
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            if (_flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"--{name} takes no value");
                _values[name] = null;
            }
            else if (known.Contains(name))
            {
                if (value is null)
                {
                    // "--data --out x": the next option is not this one's value
                    if (i + 1 >= list.Count || list[i + 1].StartsWith("--", StringComparison.Ordinal))
                        throw new UsageException($"--{name} needs a value");
                    value = list[++i];
                }
                if (value.Length == 0) throw new UsageException($"--{name} is empty; give it a value");
                if (_values.TryGetValue(name, out var earlier))
                    throw new UsageException($"--{name} is given twice ('{earlier}' and '{value}'); give it once");
                _values[name] = value;
            }
            else
            {
                throw new UsageException($"unknown option --{name} (see gcn {command} --help)");
            }
        }
    }

    public List<string> Positional { get; } = [];

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Help => Has("help");

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Require(string name) =>
        Get(name) ?? throw new UsageException($"--{name} is required (see gcn {_command} --help)");

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = Get(name);
        if (s is null) return null;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            throw new UsageException($"--{name} expects an integer from {min} to {max}, got '{s}'");
        return v;
    }

    /// <summary>--threads: 1 to 4 x this machine's cores (more only adds waiting and memory).</summary>
    public int? Threads() => Int("threads", 1, 4 * Environment.ProcessorCount);

    public float? Float(string name, float min = float.MinValue, float max = float.MaxValue)
    {
        string? s = Get(name);
        if (s is null) return null;
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v)
            || v < min || v > max)
        {
            string expected = (min, max) switch
            {
                (float.MinValue, float.MaxValue) => "a finite number",
                (_, float.MaxValue) => $"a number >= {min.ToString(CultureInfo.InvariantCulture)}",
                (float.MinValue, _) => $"a number <= {max.ToString(CultureInfo.InvariantCulture)}",
                _ => $"a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}",
            };
            throw new UsageException($"--{name} expects {expected}, got '{s}'");
        }
        return v;
    }

    public void NoPositional()
    {
        if (Positional.Count > 0) throw new UsageException($"unexpected argument '{Positional[0]}'");
    }
}
