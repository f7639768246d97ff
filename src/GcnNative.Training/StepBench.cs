using System.Diagnostics;
using System.Globalization;
using System.Text;
using GcnNative.Layers;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>Times whole training iterations of a config on random data (after warm-up).</summary>
public static class StepBench
{
    public sealed record Result(string Config, string Device, int Batch, int Iterations, double MsPerIter,
        double ImagesPerSecond, double GflopPerIter, string? LayerTable);

    /// <summary>Generator loss of each of <paramref name="iterations"/> iterations on a fixed random batch (parity runs).</summary>
    public static float[] Losses(GcnConfig config, IBackend backend, int batch, int iterations)
    {
        var model = RandomBatchModel(config, backend, batch);
        var losses = new float[iterations];
        for (int i = 0; i < iterations; i++) losses[i] = model.TrainIteration(i, readLosses: true)!.GeneratorLoss;
        return losses;
    }

    public static Result Run(GcnConfig config, IBackend backend, int batch, int iterations, int warmup, bool layers)
    {
        var model = RandomBatchModel(config, backend, batch);
        for (int i = 0; i < warmup; i++) model.TrainIteration(i, readLosses: false);
        backend.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) model.TrainIteration(warmup + i, readLosses: false);
        backend.Synchronize();
        double ms = sw.Elapsed.TotalMilliseconds / iterations;

        string? table = null;
        if (layers)
        {
            var timer = new LayerTimer();
            LayerTimer.Active = timer;
            try
            {
                for (int i = 0; i < iterations; i++) model.TrainIteration(warmup + iterations + i, readLosses: false);
            }
            finally
            {
                LayerTimer.Active = null;
            }
            table = FormatLayers(timer, iterations, ms);
        }
        double gflop = IterationFlops(model) / 1e9;
        return new Result(config.Name, backend.Name, batch, iterations, ms, batch * 1000.0 / ms, gflop, table);
    }

    /// <summary>A model on one fixed batch of random codes, labels and images (timing does not depend on values).</summary>
    public static GcnModel RandomBatchModel(GcnConfig config, IBackend backend, int batch)
    {
        var model = new GcnModel(config, backend, batch, seed: 1);
        var rng = new Random(5);
        var features = config.Features;
        var labels = new float[batch * features.Count];
        for (int f = 0; f < features.Count; f++)
        {
            var codes = new float[batch * features[f].Classes];
            for (int n = 0; n < batch; n++)
            {
                int k = rng.Next(features[f].Classes);
                codes[n * features[f].Classes + k] = 1;
                labels[n * features.Count + f] = k;
            }
            backend.Upload(model.Generator.Codes[f], codes);
        }
        backend.Upload(model.Labels, labels);
        var real = new float[model.Real.Length];
        for (int i = 0; i < real.Length; i++) real[i] = (float)rng.NextDouble();
        backend.Upload(model.Real, real);
        return model;
    }

    /// <summary>
    /// Estimated FLOP of one iteration: classifier forward+backward on the real batch (3x forward),
    /// generator forward and backward (3x), classifier forward and backward-data on the fake batch (2x).
    /// </summary>
    public static double IterationFlops(GcnModel model)
    {
        double c = model.Classifier.AllLayers.Sum(l => l.ForwardFlops);
        double g = model.Generator.AllLayers.Sum(l => l.ForwardFlops);
        return 3 * c + 3 * g + 2 * c;
    }

    private static string FormatLayers(LayerTimer timer, int iterations, double msPerIter)
    {
        var sb = new StringBuilder();
        var rows = timer.Entries.OrderByDescending(e => e.ForwardMs + e.BackwardMs).ToList();
        double total = rows.Sum(e => e.ForwardMs + e.BackwardMs) / iterations;
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"block",-22} {"layer",-48} {"fwd ms",8} {"bwd ms",8} {"share",6} {"GFLOP/s",8}");
        foreach (var e in rows)
        {
            double f = e.ForwardMs / iterations, b = e.BackwardMs / iterations;
            // forward FLOP rate over all forward calls of the layer in one iteration
            double rate = e.ForwardMs > 0 ? e.Layer.ForwardFlops * e.ForwardCalls / 1e6 / e.ForwardMs : 0;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Block,-22} {Trim(e.Layer.Name + " " + e.Layer.Describe(), 48),-48} {f,8:F2} {b,8:F2} {(f + b) / total,6:P0} {rate,8:F1}");
        }
        sb.Append(CultureInfo.InvariantCulture,
            $"layers total {total:F1} ms of {msPerIter:F1} ms/iter (the rest: losses, Adam, copies; timing adds syncs)");
        return sb.ToString();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";
}
