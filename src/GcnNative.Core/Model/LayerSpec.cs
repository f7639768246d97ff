using System.Globalization;
using GcnNative.Layers;

namespace GcnNative.Model;

/// <summary>
/// Parses the one-line layer specs of a config file:
/// <code>
/// fc 256 | fc classes          fully connected (width, or the head's class count)
/// conv 64 k5 s1 p2             convolution: channels, kernel, stride (1), pad (0)
/// deconv 128 k4 s2 p1          transposed convolution
/// lrelu 0.1                    LeakyReLU slope
/// maxpool k3 s2                max pooling
/// lrn 5 0.0001 0.75 2          local response norm: size alpha beta k
/// dropout 0.5                  dropout probability
/// reshape 256 7 7 | flatten    views
/// </code>
/// </summary>
public static class LayerSpec
{
    /// <summary>Builds layers; <paramref name="where"/> names the config field in errors.</summary>
    public static List<Layer> Parse(IReadOnlyList<string> specs, string where, int? classes = null)
    {
        var layers = new List<Layer>();
        for (int i = 0; i < specs.Count; i++)
        {
            string spec = specs[i];
            string name = i.ToString(CultureInfo.InvariantCulture);
            string at = $"{where}[{i}] \"{spec}\"";
            float nextSlope = NextSlope(specs, i);
            string[] t = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (t.Length == 0) throw new ConfigException($"{at}: empty layer spec");
            try
            {
                string kind = t[0].ToLowerInvariant();
                if (kind is "conv" or "deconv") CheckOptions(t, 2, "ksp", at);
                if (kind is "maxpool") CheckOptions(t, 1, "ks", at);
                if (Usage.TryGetValue(kind, out var usage) && t.Length > usage.Tokens)
                    throw new ConfigException($"{at}: unexpected '{t[usage.Tokens]}' (expected {usage.Text})");
                layers.Add(kind switch
                {
                    "fc" => new Linear(name, Width(t, at, classes), nextSlope),
                    "conv" => new Convolution(name, Int(t, 1, at), Opt(t, 'k', at, null), Opt(t, 's', at, 1), Opt(t, 'p', at, 0), nextSlope),
                    "deconv" => new TransposedConvolution(name, Int(t, 1, at), Opt(t, 'k', at, null), Opt(t, 's', at, 1), Opt(t, 'p', at, 0), nextSlope),
                    "lrelu" => new LeakyRelu(name, Float(t, 1, at)),
                    "maxpool" => new MaxPool(name, Opt(t, 'k', at, null), Opt(t, 's', at, 1)),
                    "lrn" => new LocalResponseNorm(name, new LrnParams(Int(t, 1, at), Float(t, 2, at), Float(t, 3, at), Float(t, 4, at))),
                    "dropout" => new Dropout(name, Float(t, 1, at)),
                    "reshape" => new Reshape(name, t.Skip(1).Select((_, j) => Int(t, j + 1, at)).ToArray()),
                    "flatten" => new Reshape(name, null),
                    _ => throw new ConfigException(
                        $"{at}: unknown layer '{t[0]}' (expected fc, conv, deconv, lrelu, maxpool, lrn, dropout, reshape, flatten)"),
                });
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"{at}: {StripName(e.Message, name)}");
            }
        }
        return layers;
    }

    /// <summary>Parses specs into a block over <paramref name="inputShape"/>; shape mismatches name the field.</summary>
    public static Sequential Chain(string name, IReadOnlyList<string> specs, string where, int[] inputShape, int? classes = null)
    {
        var layers = Parse(specs, where, classes);
        int[] shape = inputShape;
        for (int i = 0; i < layers.Count; i++)
        {
            try
            {
                shape = layers[i].OutputShape(shape);
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"{where}[{i}] \"{specs[i]}\" on input {Tensor.ShapeString(shape)}: {StripName(e.Message, layers[i].Name)}");
            }
        }
        return new Sequential(name, layers, inputShape);
    }

    private static string StripName(string message, string name) =>
        message.StartsWith(name + ": ", StringComparison.Ordinal) ? message[(name.Length + 2)..] : message;

    // weights feeding a LeakyReLU are scaled for its slope; others for a linear output
    private static float NextSlope(IReadOnlyList<string> specs, int i)
    {
        if (i + 1 < specs.Count)
        {
            string[] t = specs[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (t.Length == 2 && t[0] == "lrelu" && float.TryParse(t[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float s))
                return s;
        }
        return 1f;
    }

    private static int Width(string[] t, string at, int? classes)
    {
        if (t.Length > 1 && t[1] == "classes")
            return classes ?? throw new ConfigException($"{at}: 'classes' is only allowed in a classifier head");
        return Int(t, 1, at);
    }

    private static int Int(string[] t, int index, string at)
    {
        if (index >= t.Length || !int.TryParse(t[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new ConfigException($"{at}: expected an integer at position {index + 1}");
        return v;
    }

    private static float Float(string[] t, int index, string at)
    {
        if (index >= t.Length || !float.TryParse(t[index], NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
            throw new ConfigException($"{at}: expected a number at position {index + 1}");
        return v;
    }

    /// <summary>
    /// Layers with a fixed number of values, and how many tokens their spec has: a value past
    /// them ("dropout 0.5 0.3", "flatten 3") would otherwise be ignored silently.
    /// </summary>
    private static readonly Dictionary<string, (int Tokens, string Text)> Usage = new()
    {
        ["fc"] = (2, "fc WIDTH or fc classes"),
        ["lrelu"] = (2, "lrelu SLOPE"),
        ["lrn"] = (5, "lrn SIZE ALPHA BETA K"),
        ["dropout"] = (2, "dropout PROBABILITY"),
        ["flatten"] = (1, "flatten alone"),
    };

    // every token from `first` on must be a known k5 / s2 / p1 style option: a typo such as
    // "s2x" or "stride2" would otherwise be ignored and the default used silently, and so would
    // the second of "k3 k5"
    private static void CheckOptions(string[] t, int first, string keys, string at)
    {
        var seen = new HashSet<char>();
        foreach (string s in t.Skip(first))
        {
            if (s.Length < 2 || !keys.Contains(s[0])
                || !int.TryParse(s.AsSpan(1), NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw new ConfigException(
                    $"{at}: unexpected '{s}' (options are {string.Join(", ", keys.Select(k => k + "<n>"))})");
            if (!seen.Add(s[0])) throw new ConfigException($"{at}: {s[0]}<n> is given twice; give it once");
        }
    }

    // k5 / s2 / p1 style options
    private static int Opt(string[] t, char key, string at, int? fallback)
    {
        foreach (string s in t.Skip(1))
            if (s.Length > 1 && s[0] == key && int.TryParse(s.AsSpan(1), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
                return v;
        return fallback ?? throw new ConfigException($"{at}: missing {key}<n> (e.g. {key}3)");
    }
}

/// <summary>A configuration error with a message naming the file/field and the expectation.</summary>
public sealed class ConfigException(string message) : Exception(message);
