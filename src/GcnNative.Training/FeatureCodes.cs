using System.Globalization;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>
/// Parses the codes fed to the generator from text:
/// <code>
/// digit=7,color=red,rotation=180,exemplar=12        one-hot codes, values by name
/// exemplar=12*0.5+40*0.5                             a mix: weights per value, summed
/// identity=#3                                         a value by its class index
/// </code>
/// Every feature of the model must be given once. Weights must be finite and >= 0; they are
/// used as given (0.5 + 0.5 is the paper's mixing; other sums extrapolate).
/// </summary>
public static class FeatureCodes
{
    /// <param name="option">The command-line option the spec came from, named in every error.</param>
    public static float[][] Parse(string spec, IReadOnlyList<FeatureConfig> features,
        IReadOnlyList<IReadOnlyList<string>>? valueNames, string option = "--features")
    {
        var codes = features.Select(f => new float[f.Classes]).ToArray();
        var seen = new bool[features.Count];
        foreach (string part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"{option}: '{part}' is not NAME=VALUE");
            string name = part[..eq].Trim();
            int f = Enumerable.Range(0, features.Count).FirstOrDefault(i => features[i].Name == name, -1);
            if (f < 0)
                throw new ConfigException($"{option}: unknown feature '{name}' (expected one of: {string.Join(", ", features.Select(x => x.Name))})");
            if (seen[f]) throw new ConfigException($"{option}: feature '{name}' is given twice");
            seen[f] = true;
            foreach (string term in part[(eq + 1)..].Split('+', StringSplitOptions.TrimEntries))
            {
                if (term.Length == 0)
                    throw new ConfigException($"{option}: '{part}' has an empty term (join values with '+', e.g. {name}=a*0.5+b*0.5)");
                string value = term;
                float weight = 1f;
                int star = term.LastIndexOf('*');
                if (star >= 0)
                {
                    value = term[..star].Trim();
                    if (!float.TryParse(term[(star + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out weight)
                        || !float.IsFinite(weight) || weight < 0)
                        throw new ConfigException($"{option}: weight in '{term}' for '{name}' must be a number >= 0");
                }
                codes[f][ValueIndex(name, value, features[f].Classes, valueNames?[f], option)] += weight;
            }
        }
        var missing = Enumerable.Range(0, features.Count).Where(i => !seen[i]).Select(i => features[i].Name).ToList();
        if (missing.Count > 0) throw new ConfigException($"{option}: missing {string.Join(", ", missing)} (every feature needs a value)");
        return codes;
    }

    /// <summary>A value of one feature by name (any case), by #index, or (names unknown) by number.</summary>
    public static int ValueIndex(string feature, string value, int classes, IReadOnlyList<string>? names, string option)
    {
        if (value.StartsWith('#') && int.TryParse(value.AsSpan(1), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i))
        {
            if (i < 0 || i >= classes) throw new ConfigException($"{option}: {feature}={value} is out of range 0..{classes - 1}");
            return i;
        }
        if (names is not null)
        {
            for (int k = 0; k < names.Count; k++)
                if (string.Equals(names[k], value, StringComparison.OrdinalIgnoreCase)) return k;
            string list = names.Count <= 12 ? string.Join(", ", names) : $"{names[0]} .. {names[^1]} ({names.Count} values)";
            throw new ConfigException($"{option}: unknown value '{value}' for '{feature}' (expected {list}, or #index)");
        }
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out i) && i >= 0 && i < classes) return i;
        throw new ConfigException($"{option}: unknown value '{value}' for '{feature}' (value names unknown for this run: use #index 0..{classes - 1})");
    }
}
