using System.Text;
using System.Text.Json;

namespace GcnNative.Benchmarking;

/// <summary>One GEMM problem: C[m, n] = op(A)[m, k] . op(B)[k, n].</summary>
public sealed record GemmShape(string Name, int M, int N, int K, bool TransA = false, bool TransB = false)
{
    /// <summary>2 m n k.</summary>
    public double Flops => 2.0 * M * N * K;

    /// <summary>
    /// What <see cref="GemmBench.Run"/> holds for this problem: A, B and C, the host arrays the
    /// random A and B are filled from, and a C-sized scratch the CPU's depth-split GEMM may keep.
    /// </summary>
    public BenchFootprint Footprint
    {
        get
        {
            long a = (long)M * K, b = (long)K * N, c = (long)M * N;
            return new BenchFootprint(Name, Math.Max(c, Math.Max(a, b)), sizeof(float) * 2 * (a + b + c));
        }
    }
}

/// <summary>Timing of one <see cref="GemmShape"/>.</summary>
public sealed record GemmResult(GemmShape Shape, double Milliseconds, double Gflops, double PercentOfPeak);

/// <summary>
/// Times <see cref="IBackend.Gemm"/> on the square 1024 problem and on the fully connected
/// layers of the paper's networks (MNIST 1024 -> 12544 and 4608 -> 512, faces 2048 -> 16384 and
/// 16384 -> 1024), each as forward (weights [out, in], so B transposed), backward-data and
/// backward-filter (A transposed).
/// </summary>
public static class GemmBench
{
    /// <summary>FLOP formula printed with the results.</summary>
    public const string FlopFormula = "GEMM FLOP = 2 x m x n x k";

    /// <summary>1024^3 and the three passes of each fully connected layer at <paramref name="batch"/>.</summary>
    public static IReadOnlyList<GemmShape> DefaultShapes(int batch = 64)
    {
        var shapes = new List<GemmShape> { new("square 1024", 1024, 1024, 1024) };
        AddFc(shapes, "mnist fc 1024->12544", batch, 1024, 12544);
        AddFc(shapes, "mnist fc 4608->512", batch, 4608, 512);
        AddFc(shapes, "faces fc 2048->16384", batch, 2048, 16384);
        AddFc(shapes, "faces fc 16384->1024", batch, 16384, 1024);
        return shapes;
    }

    /// <summary>Each default shape's <see cref="GemmShape.Footprint"/> at <paramref name="batch"/> (see <see cref="BenchLimits"/>).</summary>
    public static IReadOnlyList<BenchFootprint> Footprints(int batch) => DefaultShapes(batch).Select(s => s.Footprint).ToList();

    // y[b, out] = x[b, in] . W[out, in]^T;  dx = dy . W;  dW = dy^T . x
    private static void AddFc(List<GemmShape> shapes, string name, int batch, int inputs, int outputs)
    {
        shapes.Add(new($"{name} fwd", batch, outputs, inputs, TransB: true));
        shapes.Add(new($"{name} bwd-data", batch, inputs, outputs));
        shapes.Add(new($"{name} bwd-filter", outputs, inputs, batch, TransA: true));
    }

    /// <summary>Seconds <see cref="Run"/> cannot go below at <paramref name="peakGflops"/> (0 when the peak is unknown).</summary>
    public static double MinimumSeconds(IReadOnlyList<GemmShape> shapes, double peakGflops, double minSeconds = DefaultMinSeconds) =>
        BenchTiming.MinimumSeconds(shapes.Select(s => s.Flops), peakGflops, minSeconds);

    /// <summary>The time budget of each shape's rounds.</summary>
    public const double DefaultMinSeconds = 0.5;

    /// <summary>
    /// Times each shape (alpha 1, beta 0) after <paramref name="warmup"/> calls, best of 5 rounds
    /// filling <paramref name="minSeconds"/> in all; percent of peak is 0 when <paramref name="peakGflops"/> is 0.
    /// </summary>
    public static IReadOnlyList<GemmResult> Run(IBackend backend, IReadOnlyList<GemmShape>? shapes = null,
        double peakGflops = 0, int warmup = 2, double minSeconds = DefaultMinSeconds)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var results = new List<GemmResult>();
        foreach (var s in shapes ?? DefaultShapes())
        {
            results.Add(TimeShape(backend, s, peakGflops, warmup, minSeconds));
            BenchTiming.FreeGarbage();   // this shape's arrays, before the next one's (see DeconvBench.Run)
        }
        return results;
    }

    private static GemmResult TimeShape(IBackend backend, GemmShape s, double peakGflops, int warmup, double minSeconds)
    {
        using var a = BenchTiming.Random(backend, 1, s.M * s.K);
        using var b = BenchTiming.Random(backend, 2, s.K * s.N);
        using var c = backend.Allocate(s.M * s.N);
        double ms = BenchTiming.TimeMs(backend,
            () => backend.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, b, 0f, c), warmup, minSeconds);
        double gflops = BenchTiming.Gflops(s.Flops, ms);
        return new GemmResult(s, ms, gflops, BenchTiming.Percent(gflops, peakGflops));
    }

    /// <summary>A fixed-width table: name, m, n, k, ops, ms, GFLOP/s, % of peak.</summary>
    public static string FormatTable(IReadOnlyList<GemmResult> results, double peakGflops)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{FlopFormula}; peak {peakGflops:F1} GFLOP/s");
        sb.AppendLine($"{"gemm",-34} {"m",6} {"n",6} {"k",6} {"op",3} {"ms",9} {"GFLOP/s",8} {"%peak",6}");
        foreach (var r in results)
        {
            var s = r.Shape;
            string op = (s.TransA ? "T" : "N") + (s.TransB ? "T" : "N");
            sb.AppendLine($"{s.Name,-34} {s.M,6} {s.N,6} {s.K,6} {op,3} {r.Milliseconds,9:F3} {r.Gflops,8:F1} {r.PercentOfPeak,6:F1}");
        }
        return sb.ToString();
    }

    /// <summary>One JSON line: {"gemms":[{"name","m","n","k","ms","gflops","percent_of_peak"}],"peak_gflops":...}.</summary>
    public static string ToJson(IReadOnlyList<GemmResult> results, double peakGflops)
    {
        var doc = new
        {
            gemms = results.Select(r => new
            {
                name = r.Shape.Name, m = r.Shape.M, n = r.Shape.N, k = r.Shape.K,
                ms = Math.Round(r.Milliseconds, 4),
                gflops = Math.Round(r.Gflops, 2), percent_of_peak = Math.Round(r.PercentOfPeak, 2),
            }),
            peak_gflops = Math.Round(peakGflops, 2),
        };
        return JsonSerializer.Serialize(doc, BenchTiming.Json);
    }
}
