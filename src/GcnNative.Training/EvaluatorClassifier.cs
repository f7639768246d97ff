using System.Diagnostics;
using GcnNative.IO;
using GcnNative.Layers;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>
/// An independent judge of generated images: a multi-task classifier trained only on the
/// real training images (never on generated ones, and never the GCN's own classifier),
/// then used to read the features back from generated held-out images.
/// It is cached beside the data set, so runs compared on the same data share one judge.
/// </summary>
public sealed class EvaluatorClassifier
{
    private readonly IBackend _backend;
    private readonly int _batch;
    private readonly float[] _labelsHost;
    private readonly Tensor _labels;
    private readonly Tensor _terms;

    public EvaluatorClassifier(GcnConfig config, IBackend backend, int batch)
    {
        var ec = config.Evaluator ?? throw new ConfigException($"config '{config.Name}': no 'evaluator' section, so eval has no judge");
        _backend = backend;
        _batch = batch;
        FeatureIndices = (ec.Features.Count == 0 ? config.Features.Select(f => f.Name) : ec.Features)
            .Select(config.FeatureIndex).ToArray();
        var features = FeatureIndices.Select(i => config.Features[i]).ToList();
        Classifier = new MultiHeadClassifier("evaluator", ec, config.Image.Shape, features, $"config '{config.Name}'");
        Classifier.CreateParameters(backend, new Random(777));
        Classifier.Build(backend, batch);
        GcnModel.SeedDropout(Classifier.AllLayers, 4242);
        Settings = ec;
        ConfigName = config.Name;
        _labelsHost = new float[batch * features.Count];
        _labels = backend.Allocate(batch, features.Count);
        _terms = backend.Allocate(2 * features.Count + 2);
    }

    public MultiHeadClassifier Classifier { get; }
    public ClassifierConfig Settings { get; }

    /// <summary>
    /// Cache file name: a hash of the evaluator's settings, its features and the data split, so
    /// configs with the same evaluator (mnist and mnist-small) share one judge, and a changed
    /// evaluator or an edited heldout.csv gets a new one.
    /// </summary>
    /// <param name="dataKey">What the judge was trained on: the data set and its split (<see cref="Evaluation.SplitId"/>).</param>
    public string CacheFileName(string dataKey)
    {
        string key = System.Text.Json.JsonSerializer.Serialize(Settings, GcnConfig.JsonOptions) +
                     string.Join(",", Classifier.Features.Select(f => $"{f.Name}:{f.Classes}")) + "|" + dataKey;
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));
        return $"evaluator-{Convert.ToHexString(hash, 0, 6).ToLowerInvariant()}.safetensors";
    }
    public string ConfigName { get; }

    /// <summary>Config feature index of each evaluator head.</summary>
    public int[] FeatureIndices { get; }

    /// <summary>Loads the cached judge when its architecture matches, else trains and caches it.</summary>
    public void LoadOrTrain(string cachePath, ILabeledImages data, BatchFeeder feeder, IReadOnlyList<int> train,
        TextWriter log)
    {
        string signature = System.Text.Json.JsonSerializer.Serialize(Settings, GcnConfig.JsonOptions);
        if (File.Exists(cachePath))
        {
            var (tensors, meta) = SafeTensors.Load(cachePath);
            if (meta.GetValueOrDefault("evaluator") != signature)
                log.WriteLine($"evaluator: {cachePath} was trained with other settings; retraining");
            else if (CacheProblem(tensors) is { } problem)
                log.WriteLine($"evaluator: {cachePath} is damaged ({problem}); retraining");
            else
            {
                foreach (var p in Classifier.Parameters) _backend.Upload(p.Value, tensors[p.Name].Data);
                log.WriteLine($"evaluator: loaded {cachePath} (trained on real images only)");
                return;
            }
        }
        Train(data, feeder, train, log);
        SafeTensors.Save(cachePath,
            Classifier.Parameters.Select(p => (p.Name, p.Value.Shape, p.Value.ToArray())).ToList(),
            new Dictionary<string, string> { ["evaluator"] = signature, ["format"] = "gcnnative-evaluator-1" });
        log.WriteLine($"evaluator: saved {cachePath}");
    }

    /// <summary>What keeps a cached judge from being used (a tensor missing, of another shape, or not finite); null when nothing.</summary>
    private string? CacheProblem(Dictionary<string, SafeTensors.LoadedTensor> tensors)
    {
        foreach (var p in Classifier.Parameters)
        {
            if (!tensors.TryGetValue(p.Name, out var t)) return $"tensor '{p.Name}' is missing";
            if (!t.Shape.SequenceEqual(p.Value.Shape))
                return $"tensor '{p.Name}' has shape {Tensor.ShapeString(t.Shape)}, expected {Tensor.ShapeString(p.Value.Shape)}";
            if (GcnModel.DescribeNonFinite(t.Data) is { } bad) return $"tensor '{p.Name}' holds {bad}";
        }
        return null;
    }

    private void Train(ILabeledImages data, BatchFeeder feeder, IReadOnlyList<int> train, TextWriter log)
    {
        var sampler = new EpochSampler(train, 99);
        var batch = new int[_batch];
        var realHost = new float[Classifier.Input.Length];
        int len = Classifier.Input.ItemLength;
        var heads = Classifier.LossHeads;
        var clock = Stopwatch.StartNew();
        log.WriteLine($"evaluator: training on {train.Count} real training images, {Settings.Iterations} iterations, batch {_batch}");
        for (int it = 0; it < Settings.Iterations; it++)
        {
            sampler.Next(batch);
            for (int n = 0; n < _batch; n++)
            {
                data.GetImage(batch[n], realHost.AsSpan(n * len, len));
                for (int h = 0; h < FeatureIndices.Length; h++)
                    _labelsHost[n * FeatureIndices.Length + h] = data.GetLabel(batch[n], feeder.DataFeature(FeatureIndices[h]));
            }
            _backend.Upload(Classifier.Input, realHost);
            _backend.Upload(_labels, _labelsHost);
            Classifier.Forward(training: true);
            _backend.WeightedLoss(Classifier.Logits, _labels, heads, 1f, Classifier.LogitsGrad, null, null, 0f, null, _terms);
            Classifier.Backward(new BackwardMode(false, true));
            // lr halves at 50% and 75% of the run
            float lr = Settings.Lr * (it >= Settings.Iterations * 3 / 4 ? 0.25f : it >= Settings.Iterations / 2 ? 0.5f : 1f);
            var step = new AdamStep(lr, 0.9f, 0.999f, 1e-8f, it + 1, 0f);
            foreach (var p in Classifier.Parameters) _backend.AdamUpdate(p.Value, p.Grad, p.M, p.V, step);
            if ((it + 1) % Math.Max(1, Settings.Iterations / 10) == 0)
            {
                var t = _terms.ToArray();
                int m = heads.Length;
                var acc = string.Join(" ", Enumerable.Range(0, m).Select(h => $"{Classifier.Features[h].Name} {t[m + 2 + h] / _batch:F3}"));
                log.WriteLine($"evaluator: {it + 1,6}/{Settings.Iterations} loss {t[m + 1]:F4} batch accuracy {acc} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }
    }

    /// <summary>Classifies images already in <see cref="Classifier"/>.Input; returns argmax per head per sample.</summary>
    public int[][] Predict(int count)
    {
        Classifier.Forward(training: false);
        var logits = Classifier.Logits.ToArray();
        var result = new int[count][];
        int total = Classifier.TotalClasses;
        for (int n = 0; n < count; n++)
        {
            result[n] = new int[Classifier.LossHeads.Length];
            for (int h = 0; h < Classifier.LossHeads.Length; h++)
            {
                var head = Classifier.LossHeads[h];
                int best = 0;
                for (int k = 1; k < head.Classes; k++)
                    if (logits[n * total + head.Offset + k] > logits[n * total + head.Offset + best]) best = k;
                result[n][h] = best;
            }
        }
        return result;
    }
}
