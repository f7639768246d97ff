using System.Diagnostics;

namespace GcnNative.Benchmarking;

/// <summary>Shared timing and data helpers of the benchmarks.</summary>
internal static class BenchTiming
{
    /// <summary>
    /// Milliseconds per call of <paramref name="action"/>: <paramref name="warmup"/> untimed calls,
    /// then <paramref name="rounds"/> rounds, each repeating the call for about
    /// minSeconds / rounds and ending with a <see cref="IBackend.Synchronize"/>; the fastest
    /// round's mean is returned, because on a shared machine the slow rounds measure the neighbours.
    /// </summary>
    public static double TimeMs(IBackend backend, Action action, int warmup, double minSeconds, int rounds = 5)
    {
        for (int i = 0; i < warmup; i++) action();
        backend.Synchronize();

        // calibrate: how many calls fill one round
        var sw = Stopwatch.StartNew();
        action();
        backend.Synchronize();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int reps = (int)Math.Clamp(minSeconds / rounds / once, 1, 100_000);

        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            sw.Restart();
            for (int i = 0; i < reps; i++) action();
            backend.Synchronize();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds / reps);
        }
        return best;
    }

    /// <summary>A tensor of uniform values in [-1, 1) from a fixed seed.</summary>
    public static Tensor Random(IBackend backend, int seed, params int[] shape)
    {
        var t = backend.Allocate(shape);
        var rng = new Random(seed);
        var host = new float[t.Length];
        for (int i = 0; i < host.Length; i++) host[i] = (float)(rng.NextDouble() * 2 - 1);
        backend.Upload(t, host);
        return t;
    }

    /// <summary>Plain JSON: names such as "8->19" keep their '>' instead of the HTML-safe \u003E escape.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Json =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static double Gflops(double flops, double ms) => ms > 0 ? flops / (ms * 1e6) : 0;

    public static double Percent(double gflops, double peak) => peak > 0 ? 100 * gflops / peak : 0;
}
