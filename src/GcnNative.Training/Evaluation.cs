using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GcnNative.Data;
using GcnNative.IO;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>What <c>gcn eval</c> measured (also written to RUN/eval.json).</summary>
public sealed record EvalResult(int HeldoutCount, double HeldoutPsnr, double HeldoutSsim,
    Dictionary<string, double> HeldoutAccuracy, Dictionary<string, double> RealHeldoutAccuracy,
    double TrainPsnr, int TrainCount, string JsonPath, string GridPath);

/// <summary>
/// Evaluates a trained run on the combinations it never saw: generates every held-out
/// image, measures PSNR and SSIM against the ground truth, and asks an evaluator
/// classifier trained on real training images which features it sees.
/// </summary>
public static class Evaluation
{
    public const string EvalFile = "eval.json";
    public const string GridFile = "heldout-grid.png";
    public const string PredictionsFile = "heldout-predictions.csv";

    public static (GcnConfig Config, string DataDir) ReadRun(string runDir, string? dataOverride)
    {
        string configPath = Path.Combine(runDir, Trainer.ConfigFile);
        if (!Directory.Exists(runDir)) throw new TrainingException($"{runDir}: run folder not found");
        if (!File.Exists(configPath)) throw new TrainingException($"{configPath}: not found (is {runDir} a training run?)");
        var config = GcnConfig.Load(configPath);
        string? data = dataOverride;
        if (data is null)
        {
            string infoPath = Path.Combine(runDir, Trainer.RunInfoFile);
            if (!File.Exists(infoPath)) throw new TrainingException($"{infoPath}: not found; pass --data DIR");
            data = RunInfo.Read(infoPath).Data is { Length: > 0 } recorded ? recorded
                : throw new TrainingException($"{infoPath}: field 'data' missing or empty; pass --data DIR");
        }
        return (config, data);
    }

    public static GcnModel LoadModel(string runDir, GcnConfig config, IBackend backend, int batch)
    {
        string checkpoint = Path.Combine(runDir, Trainer.CheckpointFile);
        if (!File.Exists(checkpoint)) throw new TrainingException($"{checkpoint}: not found (train first)");
        var model = new GcnModel(config, backend, batch, config.Training.Seed, Path.Combine(runDir, Trainer.ConfigFile));
        int iteration = model.LoadCheckpoint(checkpoint, requireOptimizerState: false);
        // config.json holds the iterations the run was last set to train; a checkpoint is never past them
        if (iteration > config.Training.Iterations)
            throw new TrainingException(
                $"{checkpoint}: metadata field 'iteration' is {iteration}, more than the {config.Training.Iterations} iterations " +
                $"{Path.Combine(runDir, Trainer.ConfigFile)} sets; the checkpoint is damaged or from another run");
        return model;
    }

    public static EvalResult Run(string runDir, string? dataOverride, IBackend backend, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        var (config, dataDir) = ReadRun(runDir, dataOverride);
        var dataset = Dataset.Load(dataDir);
        string split = SplitId(dataset);
        bool? sameSplit = CheckSplit(runDir, Path.Combine(dataDir, Dataset.HeldoutFile), split);
        var data = new DatasetImages(dataset);
        int batch = config.Training.Batch;
        var model = LoadModel(runDir, config, backend, batch);
        var feeder = new BatchFeeder(config, data, batch, dataDir);
        var heldout = dataset.HeldOutIndices();
        var train = dataset.TrainIndices();
        if (heldout.Length == 0) throw new TrainingException($"{Path.Combine(dataDir, Dataset.HeldoutFile)}: holds out no image; nothing to evaluate");

        var judge = new EvaluatorClassifier(config, backend, batch);
        judge.LoadOrTrain(Path.Combine(dataDir, judge.CacheFileName(split)), data, feeder, train, log);

        var img = config.Image;
        int len = img.Channels * img.Height * img.Width;
        var held = Measure(model, feeder, judge, data, heldout, len, keepImages: true);
        var real = JudgeReal(judge, data, feeder, heldout, len);
        // reconstruction of training combinations: an evenly spaced subset, at most 1000
        int stride = Math.Max(1, train.Length / 1000);
        var trainSubset = train.Where((_, i) => i % stride == 0).Take(1000).ToArray();
        var trainM = Measure(model, feeder, null, data, trainSubset, len, keepImages: false);

        string gridPath = Path.Combine(runDir, GridFile);
        SaveComparisonGrid(gridPath, held.Images!, data, heldout, len, img);
        WritePredictions(Path.Combine(runDir, PredictionsFile), held, data, feeder, judge, config, heldout);

        var accuracy = new Dictionary<string, double>();
        var realAccuracy = new Dictionary<string, double>();
        for (int h = 0; h < judge.FeatureIndices.Length; h++)
        {
            string name = config.Features[judge.FeatureIndices[h]].Name;
            accuracy[name] = held.Correct[h] / (double)heldout.Length;
            realAccuracy[name] = real[h] / (double)heldout.Length;
        }
        var result = new EvalResult(heldout.Length, held.Psnr, held.Ssim, accuracy, realAccuracy,
            trainM.Psnr, trainSubset.Length, Path.Combine(runDir, EvalFile), gridPath);
        WriteJson(result, config, model.LoadedIteration, dataDir, judge, backend, sameSplit);
        log.WriteLine($"eval: {heldout.Length} held-out images: PSNR {held.Psnr:F2} dB, SSIM {held.Ssim:F3}, evaluator accuracy " +
                      string.Join(", ", accuracy.Select(a => $"{a.Key} {a.Value:F3}")) +
                      $" (on the real held-out images: {string.Join(", ", realAccuracy.Select(a => $"{a.Key} {a.Value:F3}"))})");
        log.WriteLine($"eval: training combinations ({trainSubset.Length}): PSNR {trainM.Psnr:F2} dB; {clock.Elapsed.TotalSeconds:F0} s");
        log.WriteLine($"eval: wrote {result.JsonPath}, {gridPath} (generated rows above ground-truth rows) and " +
                      Path.Combine(runDir, PredictionsFile));
        return result;
    }

    /// <summary>Means, correct counts per judged feature, and per image: PSNR, SSIM and the judged classes.</summary>
    private sealed record Measured(double Psnr, double Ssim, int[] Correct, float[]? Images,
        double[] ImagePsnr, double[] ImageSsim, int[][] Predicted);

    private static Measured Measure(GcnModel model, BatchFeeder feeder, EvaluatorClassifier? judge, ILabeledImages data,
        int[] indices, int len, bool keepImages)
    {
        int batch = model.Batch;
        var truth = new float[len];
        var images = keepImages ? new float[indices.Length * len] : null;
        var correct = new int[judge?.FeatureIndices.Length ?? 0];
        var imagePsnr = new double[indices.Length];
        var imageSsim = new double[indices.Length];
        var predictedAll = new int[indices.Length][];
        double psnr = 0, ssim = 0;
        var img = model.Config.Image;
        for (int start = 0; start < indices.Length; start += batch)
        {
            int count = Math.Min(batch, indices.Length - start);
            var chunk = indices.AsSpan(start, count);
            feeder.Fill(model, chunk, images: false);
            model.GenerateCurrent();
            var generated = model.GeneratedImages();
            for (int n = 0; n < count; n++)
            {
                var g = generated.AsSpan(n * len, len);
                for (int i = 0; i < g.Length; i++) g[i] = Math.Clamp(g[i], 0f, 1f);
                data.GetImage(chunk[n], truth);
                imagePsnr[start + n] = ImageMetrics.Psnr(g, truth);
                imageSsim[start + n] = ImageMetrics.Ssim(g, truth, img.Channels, img.Height, img.Width);
                psnr += imagePsnr[start + n];
                ssim += imageSsim[start + n];
                if (images is not null) g.CopyTo(images.AsSpan((start + n) * len));
            }
            if (judge is null) continue;
            model.Backend.Upload(judge.Classifier.Input, generated);
            var predicted = judge.Predict(count);
            for (int n = 0; n < count; n++)
            {
                predictedAll[start + n] = predicted[n];
                for (int h = 0; h < correct.Length; h++)
                    if (predicted[n][h] == data.GetLabel(chunk[n], feeder.DataFeature(judge.FeatureIndices[h])))
                        correct[h]++;
            }
        }
        return new Measured(psnr / indices.Length, ssim / indices.Length, correct, images, imagePsnr, imageSsim, predictedAll);
    }

    private static int[] JudgeReal(EvaluatorClassifier judge, ILabeledImages data, BatchFeeder feeder, int[] indices, int len)
    {
        int batch = judge.Classifier.Input.Batch;
        var host = new float[batch * len];
        var correct = new int[judge.FeatureIndices.Length];
        for (int start = 0; start < indices.Length; start += batch)
        {
            int count = Math.Min(batch, indices.Length - start);
            for (int n = 0; n < count; n++) data.GetImage(indices[start + n], host.AsSpan(n * len, len));
            judge.Classifier.Backend.Upload(judge.Classifier.Input, host);
            var predicted = judge.Predict(count);
            for (int n = 0; n < count; n++)
                for (int h = 0; h < correct.Length; h++)
                    if (predicted[n][h] == data.GetLabel(indices[start + n], feeder.DataFeature(judge.FeatureIndices[h])))
                        correct[h]++;
        }
        return correct;
    }

    private static void SaveComparisonGrid(string path, float[] generated, ILabeledImages data, int[] indices, int len,
        ImageConfig img)
    {
        const int columns = 25;
        int rowsOfPairs = (indices.Length + columns - 1) / columns;
        var grid = new float[rowsOfPairs * 2 * columns * len];
        grid.AsSpan().Fill(1f);
        var truth = new float[len];
        for (int i = 0; i < indices.Length; i++)
        {
            int row = i / columns, col = i % columns;
            generated.AsSpan(i * len, len).CopyTo(grid.AsSpan(((row * 2) * columns + col) * len));
            data.GetImage(indices[i], truth);
            truth.CopyTo(grid.AsSpan(((row * 2 + 1) * columns + col) * len));
        }
        Pictures.SaveGrid(path, grid, rowsOfPairs * 2 * columns, img.Channels, img.Height, img.Width, columns);
    }

    /// <summary>SHA-256 (first 16 hex digits) of a data set's pixels and labels: the same data wherever it lies.</summary>
    public static string DataHash(Dataset dataset)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(dataset.Pixels);
        foreach (var row in dataset.Labels) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
        return Convert.ToHexString(sha.GetHashAndReset(), 0, 8).ToLowerInvariant();
    }

    /// <summary>Identifies a data set and its held-out split (name, count, SHA-256 of heldout.csv's text).</summary>
    public static string SplitId(Dataset dataset)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dataset.Heldout.Text));
        return $"{dataset.Name}:{dataset.Count}:{Convert.ToHexString(hash, 0, 8).ToLowerInvariant()}";
    }

    /// <summary>
    /// Eval measures the combinations the run never trained on, so the data set must hold out
    /// what the run held out: another split (an edited or emptied heldout.csv) is refused, as
    /// images the generator trained on would count as held out. Returns true when run.json
    /// records the same split, null when it records none (nothing to compare).
    /// </summary>
    private static bool? CheckSplit(string runDir, string heldoutPath, string split)
    {
        var info = RunInfo.ReadIfPresent(runDir);
        if (info is null || string.IsNullOrEmpty(info.Split)) return null;
        if (info.Split != split)
            throw new TrainingException(
                $"{heldoutPath}: not the held-out split this run trained with ({info.Path} has split '{info.Split}', the data set now gives '{split}'); " +
                "images the generator trained on would count as held out. Evaluate with the run's own heldout.csv");
        return true;
    }

    private static void WriteJson(EvalResult r, GcnConfig config, int iteration, string dataDir,
        EvaluatorClassifier judge, IBackend backend, bool? sameSplit)
    {
        var json = new JsonObject
        {
            ["heldout"] = new JsonObject
            {
                ["count"] = r.HeldoutCount,
                ["psnr"] = Math.Round(r.HeldoutPsnr, 4),
                ["ssim"] = Math.Round(r.HeldoutSsim, 5),
                ["accuracy"] = ToJson(r.HeldoutAccuracy),
                ["real_accuracy"] = ToJson(r.RealHeldoutAccuracy),
            },
            ["train"] = new JsonObject { ["psnr"] = Math.Round(r.TrainPsnr, 4), ["count"] = r.TrainCount },
            ["settings"] = new JsonObject
            {
                ["config"] = config.Name,
                ["data"] = Path.GetFullPath(dataDir),
                ["iterations"] = iteration,
                ["batch"] = config.Training.Batch,
                ["seed"] = config.Training.Seed,
                ["pixel_weight"] = config.Loss.PixelWeight,
                ["classification_weight"] = config.Loss.ClassificationWeight,
                ["classifier_warmup"] = config.Loss.ClassifierWarmup,
                ["device"] = backend.Name,
                ["heldout_matches_training"] = sameSplit,
                ["evaluator"] = JsonNode.Parse(JsonSerializer.Serialize(judge.Settings, GcnConfig.JsonOptions)),
                ["psnr_definition"] = "mean over images of 10 log10(1 / MSE), generated image clipped to [0, 1]",
                ["ssim_definition"] = "11x11 Gaussian window sigma 1.5, C1 0.01^2, C2 0.03^2, mean over valid windows and channels",
            },
        };
        // JSON has no NaN or infinity: such a result is an error naming the field, not a crash
        if (NonFinite(json, "") is { } bad)
            throw new TrainingException($"{r.JsonPath}: not written: {bad} is not a finite number; the evaluation went wrong");
        AtomicFile.WriteText(r.JsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The first number under <paramref name="node"/> that JSON cannot hold, as "field (value)"; null when there is none.</summary>
    private static string? NonFinite(JsonNode? node, string at)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                    if (NonFinite(value, at.Length == 0 ? key : $"{at}.{key}") is { } bad) return bad;
                return null;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                    if (NonFinite(a[i], $"{at}[{i}]") is { } bad) return bad;
                return null;
            case JsonValue v when v.TryGetValue(out double d) && !double.IsFinite(d):
                return $"'{at}' ({d.ToString(System.Globalization.CultureInfo.InvariantCulture)})";
            case JsonValue v when v.TryGetValue(out float f) && !float.IsFinite(f):
                return $"'{at}' ({f.ToString(System.Globalization.CultureInfo.InvariantCulture)})";
            default:
                return null;
        }
    }

    /// <summary>
    /// One row per held-out image, in grid order: its index in the data set, its true
    /// feature values, PSNR and SSIM of the generated image, and what the evaluator saw in it.
    /// </summary>
    private static void WritePredictions(string path, Measured held, ILabeledImages data, BatchFeeder feeder,
        EvaluatorClassifier judge, GcnConfig config, int[] heldout)
    {
        var sb = new System.Text.StringBuilder();
        var judged = judge.FeatureIndices.Select(f => config.Features[f].Name).ToArray();
        sb.Append("image,").Append(string.Join(",", data.FeatureNames)).Append(",psnr,ssim");
        foreach (var name in judged) sb.Append(',').Append(name).Append("_judged");
        sb.Append('\n');
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (int i = 0; i < heldout.Length; i++)
        {
            sb.Append(heldout[i]);
            for (int f = 0; f < data.FeatureNames.Count; f++)
                sb.Append(',').Append(data.FeatureValues[f][data.GetLabel(heldout[i], f)]);
            sb.Append(',').Append(held.ImagePsnr[i].ToString("F3", inv)).Append(',').Append(held.ImageSsim[i].ToString("F4", inv));
            for (int h = 0; h < judged.Length; h++)
            {
                int f = feeder.DataFeature(judge.FeatureIndices[h]);
                sb.Append(',').Append(data.FeatureValues[f][held.Predicted[i][h]]);
            }
            sb.Append('\n');
        }
        AtomicFile.WriteText(path, sb.ToString());
    }

    private static JsonObject ToJson(Dictionary<string, double> d)
    {
        var o = new JsonObject();
        foreach (var (k, v) in d) o[k] = Math.Round(v, 5);
        return o;
    }
}
