using System.Diagnostics;
using System.Globalization;
using System.Text;
using GcnNative.Layers;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>Times whole training iterations of a config on random data (after warm-up).</summary>
public static class StepBench
{
    /// <param name="Warmup">Untimed iterations before the timed ones.</param>
    /// <param name="Layers">With --layers: per-layer times of one iteration, slowest first (else null).</param>
    /// <param name="LayerTable">The same as a fixed-width table.</param>
    public sealed record Result(string Config, string Device, int Batch, int Iterations, int Warmup, double MsPerIter,
        double ImagesPerSecond, double GflopPerIter, IReadOnlyList<LayerTime>? Layers, string? LayerTable);

    /// <summary>One layer's mean forward and backward milliseconds per training iteration.</summary>
    /// <param name="Block">The network block ("body", "head.digit", "trunk", ...).</param>
    /// <param name="Name">The layer's index and description, as in the table.</param>
    public sealed record LayerTime(string Block, string Name, double ForwardMs, double BackwardMs, double ForwardGflops);

    /// <summary>Generator loss of each of <paramref name="iterations"/> iterations on a fixed random batch (parity runs).</summary>
    public static float[] Losses(GcnConfig config, IBackend backend, int batch, int iterations)
    {
        var model = RandomBatchModel(config, backend, batch);
        var losses = new float[iterations];
        for (int i = 0; i < iterations; i++) losses[i] = model.TrainIteration(i, readLosses: true)!.GeneratorLoss;
        return losses;
    }

    /// <param name="source">Names the config in errors, as the trainer does (its file, or "preset 'x'").</param>
    public static Result Run(GcnConfig config, IBackend backend, int batch, int iterations, int warmup, bool layers,
        string source = "config")
    {
        var model = RandomBatchModel(config, backend, batch, source);
        for (int i = 0; i < warmup; i++) model.TrainIteration(i, readLosses: false);
        backend.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) model.TrainIteration(warmup + i, readLosses: false);
        backend.Synchronize();
        double ms = sw.Elapsed.TotalMilliseconds / iterations;

        string? table = null;
        List<LayerTime>? rows = null;
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
            rows = LayerTimes(timer, iterations);
            table = FormatLayers(rows, ms);
        }
        double gflop = IterationFlops(model) / 1e9;
        return new Result(config.Name, backend.Name, batch, iterations, warmup, ms, batch * 1000.0 / ms, gflop, rows, table);
    }

    /// <summary>A model on one fixed batch of random codes, labels and images (timing does not depend on values).</summary>
    public static GcnModel RandomBatchModel(GcnConfig config, IBackend backend, int batch, string source = "config")
    {
        var model = new GcnModel(config, backend, batch, seed: 1, source);
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

    /// <summary>Each timed layer's mean per iteration, slowest first.</summary>
    private static List<LayerTime> LayerTimes(LayerTimer timer, int iterations) =>
        timer.Entries.OrderByDescending(e => e.ForwardMs + e.BackwardMs).Select(e => new LayerTime(
            e.Block, e.Layer.Name + " " + e.Layer.Describe(), e.ForwardMs / iterations, e.BackwardMs / iterations,
            // forward FLOP rate over all forward calls of the layer in one iteration
            e.ForwardMs > 0 ? e.Layer.ForwardFlops * e.ForwardCalls / 1e6 / e.ForwardMs : 0)).ToList();

    private static string FormatLayers(IReadOnlyList<LayerTime> rows, double msPerIter)
    {
        var sb = new StringBuilder();
        double total = rows.Sum(e => e.ForwardMs + e.BackwardMs);
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"block",-22} {"layer",-48} {"fwd ms",8} {"bwd ms",8} {"share",6} {"GFLOP/s",8}");
        foreach (var e in rows)
        {
            double f = e.ForwardMs, b = e.BackwardMs;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Block,-22} {Trim(e.Name, 48),-48} {f,8:F2} {b,8:F2} {(f + b) / total,6:P0} {e.ForwardGflops,8:F1}");
        }
        sb.Append(CultureInfo.InvariantCulture,
            $"layers total {total:F1} ms of {msPerIter:F1} ms/iter (the rest: losses, Adam, copies; timing adds syncs)");
        return sb.ToString();
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";
}
