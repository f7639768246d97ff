using System.Diagnostics;
using System.Globalization;
using GcnNative.Data;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>What <see cref="Augmentation.Build"/> makes: which pairs, how many combinations per pair, what it kept.</summary>
/// <param name="Feature">The mixed feature.</param>
/// <param name="Pairs">The unordered value pairs mixed 0.5/0.5, in output order.</param>
/// <param name="Combinations">Combinations of the other features per pair.</param>
/// <param name="Generated">Pairs x combinations.</param>
/// <param name="Kept">Images at or above the confidence threshold.</param>
/// <param name="LowestKeptConfidence">Smallest confidence among kept images (NaN when none).</param>
/// <param name="HighestConfidence">Largest confidence seen, kept or not.</param>
public sealed record AugmentReport(string Feature, IReadOnlyList<(int A, int B)> Pairs, int Combinations,
    int Generated, int Kept, double LowestKeptConfidence, double HighestConfidence);

/// <summary>
/// The GCN as a data-augmentation tool (paper section 4.3.3, spec section 7): for pairs of
/// values of one feature (two people), every combination of the other features (each emotion,
/// each transformation, or those fixed by the user) is generated with the pair's codes mixed
/// 0.5/0.5. Each image is judged by the run's own multi-task classifier: its confidence is the
/// smallest softmax probability it gives the requested value of a feature that was not mixed,
/// and images below the threshold are dropped as low quality. The result is an ordinary data
/// set (same on-disk format as every importer), whose mixed feature has one value per pair,
/// named "a+b"; a model or a classifier can train on it directly.
/// </summary>
public static class Augmentation
{
    /// <summary>Refuse sets larger than this (images), before generating anything.</summary>
    public const int MaxImages = 200_000;

    /// <param name="model">The trained run's model, any batch size.</param>
    /// <param name="names">Value names per feature of the run (null: values are named by index).</param>
    /// <param name="feature">The feature whose values are mixed in pairs.</param>
    /// <param name="pairs">How many pairs (null: every pair); chosen at random with <paramref name="seed"/>.</param>
    /// <param name="fixedValues">Other features held at one value, "name=value" (value by name or #index).</param>
    /// <param name="minConfidence">Threshold in [0, 1].</param>
    public static (Dataset Data, AugmentReport Report) Build(GcnModel model, IReadOnlyList<IReadOnlyList<string>>? names,
        string feature, int? pairs, IReadOnlyList<string> fixedValues, double minConfidence, int seed, TextWriter log)
    {
        var features = model.Config.Features;
        int f = Enumerable.Range(0, features.Count).FirstOrDefault(i => features[i].Name == feature, -1);
        if (f < 0) throw new ConfigException($"--mix: unknown feature '{feature}' (expected one of: {string.Join(", ", features.Select(x => x.Name))})");
        if (features[f].Classes < 2) throw new ConfigException($"--mix: feature '{feature}' has one value; nothing to mix");
        if (minConfidence is < 0 or > 1 || double.IsNaN(minConfidence))
            throw new ConfigException($"--min-confidence: expected a probability in 0..1, got {minConfidence}");
        var valueNames = Enumerable.Range(0, features.Count)
            .Select(i => names?[i] ?? Enumerable.Range(0, features[i].Classes).Select(v => $"#{v}").ToArray())
            .ToArray();

        // the values each other feature takes: all, or the one fixed
        var choices = Enumerable.Range(0, features.Count).Select(i => Enumerable.Range(0, features[i].Classes).ToArray()).ToArray();
        var fixedSeen = new HashSet<int>();
        foreach (string item in fixedValues)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"--fix: '{item}' is not FEATURE=VALUE");
            string name = item[..eq].Trim(), value = item[(eq + 1)..].Trim();
            int g = Enumerable.Range(0, features.Count).FirstOrDefault(i => features[i].Name == name, -1);
            if (g < 0) throw new ConfigException($"--fix: unknown feature '{name}' (expected one of: {string.Join(", ", features.Select(x => x.Name))})");
            if (g == f) throw new ConfigException($"--fix: '{name}' is the mixed feature; fix only the others");
            if (fixedSeen.Contains(g)) throw new ConfigException($"--fix: feature '{name}' is given twice");
            fixedSeen.Add(g);
            choices[g] = [FeatureCodes.ValueIndex(name, value, features[g].Classes, names?[g], "--fix")];
        }

        var allPairs = new List<(int A, int B)>();
        for (int a = 0; a < features[f].Classes; a++)
            for (int b = a + 1; b < features[f].Classes; b++) allPairs.Add((a, b));
        if (pairs is < 1) throw new ConfigException($"--pairs: expected at least 1, got {pairs}");
        var chosen = allPairs;
        if (pairs is { } wanted && wanted < allPairs.Count)
        {
            var rng = new Random(seed);
            chosen = allPairs.OrderBy(_ => rng.Next()).Take(wanted).OrderBy(p => p).ToList();
        }

        var others = Enumerable.Range(0, features.Count).Where(i => i != f).ToArray();
        var combos = Cartesian(others.Select(i => choices[i]).ToArray());
        long total = (long)chosen.Count * combos.Count;
        if (total > MaxImages)
            throw new ConfigException($"{chosen.Count} pairs x {combos.Count} combinations = {total} images, more than {MaxImages}; " +
                                      "use --pairs N or --fix FEATURE=VALUE");

        int batch = model.Batch, len = model.Generator.Output.ItemLength;
        if (total * len > Array.MaxLength)
            throw new ConfigException($"{total} images of {len} bytes would exceed one images.u8 array ({Array.MaxLength} bytes); " +
                                      "use --pairs N or --fix FEATURE=VALUE");
        var watch = Stopwatch.StartNew();
        var img = model.Config.Image;
        var keptPixels = new List<byte[]>();
        var keptLabels = new List<int[]>();
        double lowestKept = double.NaN, highest = double.NegativeInfinity;
        var codes = new List<float[][]>(batch);
        var labels = new List<int[]>(batch);
        int done = 0;
        for (long item = 0; item < total; item++)
        {
            int p = (int)(item / combos.Count);
            var combo = combos[(int)(item % combos.Count)];
            var label = new int[features.Count];
            var code = new float[features.Count][];
            label[f] = p;
            code[f] = new float[features[f].Classes];
            code[f][chosen[p].A] = 0.5f;
            code[f][chosen[p].B] = 0.5f;
            for (int o = 0; o < others.Length; o++)
            {
                int g = others[o];
                label[g] = combo[o];
                code[g] = new float[features[g].Classes];
                code[g][combo[o]] = 1f;
            }
            codes.Add(code);
            labels.Add(label);
            if (codes.Count < batch && item + 1 < total) continue;

            BatchFeeder.FillCodes(model, codes);
            model.GenerateCurrent();
            var generated = model.GeneratedImages();
            var confidence = Confidence(model, generated, labels, others);
            for (int n = 0; n < codes.Count; n++)
            {
                highest = Math.Max(highest, confidence[n]);
                if (confidence[n] < minConfidence) continue;
                lowestKept = double.IsNaN(lowestKept) ? confidence[n] : Math.Min(lowestKept, confidence[n]);
                var bytes = new byte[len];
                var src = generated.AsSpan(n * len, len);
                for (int i = 0; i < len; i++) bytes[i] = (byte)Math.Round(Math.Clamp(src[i], 0f, 1f) * 255f);
                keptPixels.Add(bytes);
                keptLabels.Add(labels[n]);
            }
            done += codes.Count;
            codes.Clear();
            labels.Clear();
            if (done % (batch * 50) == 0 || done == total)
                log.WriteLine($"augment: {done}/{total} generated, {keptPixels.Count} kept ({done / watch.Elapsed.TotalSeconds:F0} images/s)");
        }

        var report = new AugmentReport(feature, chosen, combos.Count, (int)total, keptPixels.Count, lowestKept, highest);
        if (keptPixels.Count == 0)
            throw new TrainingException($"none of {total} images reached confidence {Text(minConfidence)} " +
                                        $"(the highest was {ConfidenceText(highest, minConfidence)}); lower --min-confidence");

        var outFeatures = new DatasetFeature[features.Count];
        for (int i = 0; i < features.Count; i++)
            outFeatures[i] = i == f
                ? new DatasetFeature(features[i].Name, chosen.Select(pr => $"{valueNames[f][pr.A]}+{valueNames[f][pr.B]}"))
                : new DatasetFeature(features[i].Name, valueNames[i]);
        var pixels = new byte[(long)keptPixels.Count * len];
        for (int i = 0; i < keptPixels.Count; i++) keptPixels[i].CopyTo(pixels.AsSpan((int)((long)i * len), len));
        var data = new Dataset("augmented", img.Channels, img.Height, img.Width, outFeatures, pixels, keptLabels.ToArray());
        return (data, report);
    }

    /// <summary>
    /// A confidence for a message: 3 decimals, or as many more as it takes to read on the same side
    /// of <paramref name="threshold"/> as it is, and not to read as 1 when it is below 1 (a highest
    /// confidence of 0.9999999997 was printed as "1" beside "none reached confidence 1"). An
    /// image at exactly the threshold is kept.
    /// </summary>
    public static string ConfidenceText(double confidence, double threshold)
    {
        for (int decimals = 3; decimals <= 17; decimals++)
        {
            string s = confidence.ToString("F" + decimals, CultureInfo.InvariantCulture);
            double shown = double.Parse(s, CultureInfo.InvariantCulture);
            if ((shown < threshold) == (confidence < threshold) && (shown < 1 || confidence >= 1)) return s;
        }
        return Text(confidence);
    }

    /// <summary>A number as given (the shortest text that reads back as the same double).</summary>
    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Per sample: the smallest softmax probability the run's classifier gives a requested value of a feature not mixed.</summary>
    private static double[] Confidence(GcnModel model, float[] generated, List<int[]> labels, int[] judged)
    {
        var classifier = model.Classifier;
        model.Backend.Upload(classifier.Input, generated);
        classifier.Forward(training: false);
        var logits = classifier.Logits.ToArray();
        int total = classifier.TotalClasses;
        var result = new double[labels.Count];
        for (int n = 0; n < labels.Count; n++)
        {
            double worst = 1;
            foreach (int g in judged)
            {
                var head = classifier.LossHeads[g];
                var row = logits.AsSpan(n * total + head.Offset, head.Classes);
                double max = double.NegativeInfinity, sum = 0;
                foreach (float v in row) max = Math.Max(max, v);
                foreach (float v in row) sum += Math.Exp(v - max);
                worst = Math.Min(worst, Math.Exp(row[labels[n][g]] - max) / sum);
            }
            result[n] = worst;
        }
        return result;
    }

    private static List<int[]> Cartesian(int[][] sets)
    {
        var result = new List<int[]> { Array.Empty<int>() };
        foreach (var set in sets)
            result = result.SelectMany(prefix => set.Select(v => prefix.Append(v).ToArray())).ToList();
        return result;
    }
}
