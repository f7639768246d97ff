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
    /// A call that alone takes <paramref name="minSeconds"/> or more (a very large batch) is warm
    /// after one call and is timed <see cref="LongCallTimings"/> times in all, not 3 + rounds:
    /// each more call would only multiply a run of minutes.
    /// </summary>
    public static double TimeMs(IBackend backend, Action action, int warmup, double minSeconds, int rounds = 5)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < warmup; i++)
        {
            sw.Restart();
            action();
            backend.Synchronize();
            if (sw.Elapsed.TotalSeconds >= minSeconds) break;
        }

        // calibrate: how many calls fill one round
        sw.Restart();
        action();
        backend.Synchronize();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int reps = (int)Math.Clamp(minSeconds / rounds / once, 1, 100_000);
        bool longCall = once >= minSeconds;

        double best = longCall ? once * 1000 : double.MaxValue;   // a long calibration call is a timing too
        for (int r = 0; r < (longCall ? LongCallTimings - 2 : rounds); r++)
        {
            sw.Restart();
            for (int i = 0; i < reps; i++) action();
            backend.Synchronize();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds / reps);
        }
        return best;
    }

    /// <summary>Calls of <see cref="TimeMs"/> for a call that takes its whole budget: one warm-up, the calibration, one round.</summary>
    public const int LongCallTimings = 3;

    /// <summary>
    /// A lower bound of the seconds <see cref="TimeMs"/> takes over passes of these FLOP counts at
    /// <paramref name="peakGflops"/>: each pass at least its budget, or its long-call count.
    /// </summary>
    public static double MinimumSeconds(IEnumerable<double> passFlops, double peakGflops, double minSeconds) =>
        peakGflops <= 0 ? 0 : passFlops.Sum(f => Math.Max(minSeconds, LongCallTimings * f / (peakGflops * 1e9)));

    /// <summary>
    /// Collects the arrays of the case timed before (CPU tensors and host copies are managed
    /// arrays) so that each case's memory is its own, as <see cref="BenchLimits"/> plans for.
    /// </summary>
    public static void FreeGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
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
