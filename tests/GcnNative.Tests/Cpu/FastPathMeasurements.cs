using System.Diagnostics;
using GcnNative.Benchmarking;
using GcnNative.Cpu;
using NUnit.Framework;

namespace GcnNative.Tests.Cpu;

/// <summary>
/// Prints the CPU fast path's figures (peak, GEMM, transposed convolutions, the MNIST
/// classifier's convolutions at batch 64). Explicit: minutes long and timing-dependent.
/// Run with: dotnet test tests/GcnNative.Tests -c Release --filter FullyQualifiedName~FastPathMeasurements
/// </summary>
[TestFixture, Explicit("prints benchmark figures; slow and machine-dependent")]
public class FastPathMeasurements
{
    [Test]
    public void PrintFigures()
    {
        using var backend = new CpuBackend(CpuPath.Fast);
        double peak = PeakFlops.Measure(backend.Threads);
        TestContext.Out.WriteLine($"{backend.Description}; PeakFlops.Measure({backend.Threads}) = {peak:F1} GFLOP/s");

        var gemms = GemmBench.Run(backend, peakGflops: peak);
        TestContext.Out.Write(GemmBench.FormatTable(gemms, peak));
        TestContext.Out.WriteLine(GemmBench.ToJson(gemms, peak));

        var deconvs = DeconvBench.Run(backend, 8);
        TestContext.Out.Write(DeconvBench.FormatTable(deconvs, peak));
        TestContext.Out.WriteLine(DeconvBench.ToJson(deconvs, peak));

        PrintClassifierConvolutions(backend);
    }

    /// <summary>The MNIST classifier's convolutions at batch 64; an iteration runs each twice (real and fake batch).</summary>
    private static void PrintClassifierConvolutions(CpuBackend backend)
    {
        var layers = new (string Name, ConvGeometry G)[]
        {
            ("conv 3->64 5x5 p2 28x28", ConvGeometry.Create(64, 3, 28, 28, 64, 5, 1, 2)),
            ("conv 64->128 5x5 p2 13x13", ConvGeometry.Create(64, 64, 13, 13, 128, 5, 1, 2)),
            ("conv 128->192 3x3 p1 6x6", ConvGeometry.Create(64, 128, 6, 6, 192, 3, 1, 1)),
            ("conv 192->192 3x3 p1 6x6", ConvGeometry.Create(64, 192, 6, 6, 192, 3, 1, 1)),
            ("conv 192->128 3x3 p1 6x6", ConvGeometry.Create(64, 192, 6, 6, 128, 3, 1, 1)),
        };
        double total = 0;
        TestContext.Out.WriteLine($"{"classifier layer (batch 64)",-28} {"fwd ms",8} {"GF/s",6} {"bwdD ms",8} {"GF/s",6} {"bwdF ms",8} {"GF/s",6}");
        foreach (var (name, g) in layers)
        {
            using var x = backend.Allocate(g.XShape);
            using var w = backend.Allocate(g.WShape);
            using var y = backend.Allocate(g.YShape);
            using var dw = backend.Allocate(g.WShape);
            backend.Fill(x, 0.5f);
            backend.Fill(w, 0.01f);
            backend.Fill(y, 0.25f);
            double f = Time(() => backend.ConvForward(g, x, w, y));
            double d = Time(() => backend.ConvBackwardData(g, y, w, x));
            double fi = Time(() => backend.ConvBackwardFilter(g, x, y, dw, false));
            total += 2 * (f + d + fi);
            TestContext.Out.WriteLine($"{name,-28} {f,8:F2} {g.Flops / f / 1e6,6:F1} {d,8:F2} {g.Flops / d / 1e6,6:F1} " +
                                      $"{fi,8:F2} {g.Flops / fi / 1e6,6:F1}");
        }
        TestContext.Out.WriteLine($"classifier convolutions, 2 x (fwd + bwd-data + bwd-filter): {total:F1} ms per iteration");
    }

    private static double Time(Action action)
    {
        action();
        double best = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            int reps = 0;
            while (sw.ElapsedMilliseconds < 100) { action(); reps++; }
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds / reps);
        }
        return best;
    }
}
