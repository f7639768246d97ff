using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>
/// A grid of generated images that mixes one feature's codes: row 1 the base value and each
/// other value alone, row 2 the base mixed 0.5/0.5 with each other value, row 3 a sweep from
/// the base to the first other value in equal steps. Other features keep the base codes.
/// </summary>
public sealed record MixingGrid(List<float[][]> Codes, int Columns, string Description)
{
    /// <summary>Fewest and most steps of the sweep in row 3 (--steps).</summary>
    public const int MinSteps = 2, MaxSteps = 64;

    public static MixingGrid Build(IReadOnlyList<FeatureConfig> features, IReadOnlyList<IReadOnlyList<string>>? names,
        float[][] baseCodes, string feature, string withValues, int steps)
    {
        int f = Enumerable.Range(0, features.Count).FirstOrDefault(i => features[i].Name == feature, -1);
        if (f < 0) throw new ConfigException($"--mix: unknown feature '{feature}' (expected one of: {string.Join(", ", features.Select(x => x.Name))})");
        if (steps is < MinSteps or > MaxSteps)
            throw new ConfigException($"--steps expects an integer from {MinSteps} to {MaxSteps}, got '{steps}'");
        var others = new List<float[]>();
        foreach (string v in withValues.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // reuse the feature-code parser for one feature: every other feature from the base
            var spec = string.Join(",", features.Select((x, i) => i == f ? $"{x.Name}={v}" : $"{x.Name}=#{ArgMax(baseCodes[i])}"));
            others.Add(FeatureCodes.Parse(spec, features, names, "--with")[f]);
        }
        if (others.Count == 0) throw new ConfigException("--with: give at least one value to mix with");
        if (others.Count > 63) throw new ConfigException($"--with: at most 63 values, got {others.Count}");
        int columns = Math.Max(others.Count + 1, steps);
        var cells = new List<float[][]>();
        float[][] With(float[] code)
        {
            var c = baseCodes.Select(x => (float[])x.Clone()).ToArray();
            c[f] = code;
            return c;
        }
        float[] Mix(float[] a, float[] b, float t) => a.Zip(b, (x, y) => (1 - t) * x + t * y).ToArray();
        float[]? blank = null; // padding cells are rendered white

        cells.Add(With(baseCodes[f]));
        cells.AddRange(others.Select(With));
        Pad(cells, columns, blank);
        cells.Add(With(baseCodes[f]));
        cells.AddRange(others.Select(o => With(Mix(baseCodes[f], o, 0.5f))));
        Pad(cells, columns, blank);
        for (int s = 0; s < steps; s++) cells.Add(With(Mix(baseCodes[f], others[0], s / (float)(steps - 1))));
        Pad(cells, columns, blank);
        return new MixingGrid(cells, columns,
            $"{feature}: row 1 base and {others.Count} other{(others.Count == 1 ? "" : "s")} alone, row 2 base mixed 0.5/0.5 with each, row 3 {steps} steps from base to the first");
    }

    private static void Pad(List<float[][]> cells, int columns, float[]? blank)
    {
        while (cells.Count % columns != 0) cells.Add(null!);
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>Generates every cell in one batch (the model is built for Codes.Count); padding cells are white.</summary>
    public static float[] Render(GcnModel model, MixingGrid grid)
    {
        var filled = grid.Codes.Select(c => c ?? grid.Codes[0]).ToList();
        BatchFeeder.FillCodes(model, filled);
        model.GenerateCurrent();
        var images = model.GeneratedImages();
        int len = model.Generator.Output.ItemLength;
        for (int i = 0; i < grid.Codes.Count; i++)
        {
            var cell = images.AsSpan(i * len, len);
            if (grid.Codes[i] is null) cell.Fill(1f);
            else for (int j = 0; j < cell.Length; j++) cell[j] = Math.Clamp(cell[j], 0f, 1f);
        }
        return images;
    }
}
