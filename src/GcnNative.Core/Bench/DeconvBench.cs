using System.Text;
using System.Text.Json;

namespace GcnNative.Benchmarking;

/// <summary>
/// A transposed convolution of the paper's generators: [inChannels, inSize^2] -> [outChannels, outSize^2],
/// kernel k, stride s, pad p, outSize = (inSize - 1) s + k - 2 p.
/// </summary>
public sealed record DeconvLayer(string Name, int InChannels, int InSize, int OutChannels, int Kernel, int Stride, int Pad)
{
    /// <summary>Spatial size of the output.</summary>
    public int OutSize => (InSize - 1) * Stride + Kernel - 2 * Pad;

    /// <summary>The matching ordinary convolution (its X is this layer's output).</summary>
    public ConvGeometry Geometry(int batch) =>
        ConvGeometry.ForTransposed(batch, InChannels, InSize, InSize, OutChannels, Kernel, Stride, Pad);

    /// <summary>One pass: 2 N Cin Hin Win Cout k k.</summary>
    public double Flops(int batch) => 2.0 * batch * InChannels * InSize * InSize * OutChannels * Kernel * Kernel;

    /// <summary>
    /// What <see cref="DeconvBench.Run"/> holds for this layer at <paramref name="batch"/>: input,
    /// output and their gradients, weight and its gradient, and the host arrays the random input,
    /// output gradient and weight are filled from (garbage, but not collected before the timing);
    /// counted in long, since a batch too large for one tensor is what this is for.
    /// </summary>
    public BenchFootprint Footprint(int batch)
    {
        long input = (long)batch * InChannels * InSize * InSize;
        long output = (long)batch * OutChannels * OutSize * OutSize;
        long weight = (long)InChannels * OutChannels * Kernel * Kernel;
        return new BenchFootprint(Name, Math.Max(input, output), sizeof(float) * 3 * (input + output + weight));
    }
}

/// <summary>Timing of one <see cref="DeconvLayer"/>: forward, backward-data and backward-filter in milliseconds.</summary>
public sealed record DeconvResult(DeconvLayer Layer, int Batch, double ForwardMs, double BackwardDataMs,
    double BackwardFilterMs)
{
    /// <summary>FLOP of one pass.</summary>
    public double Flops => Layer.Flops(Batch);

    /// <summary>Backward = backward-data + backward-filter.</summary>
    public double BackwardMs => BackwardDataMs + BackwardFilterMs;

    public double ForwardGflops => BenchTiming.Gflops(Flops, ForwardMs);
    public double BackwardGflops => BenchTiming.Gflops(2 * Flops, BackwardMs);
    public double BackwardDataGflops => BenchTiming.Gflops(Flops, BackwardDataMs);
    public double BackwardFilterGflops => BenchTiming.Gflops(Flops, BackwardFilterMs);
}

/// <summary>
/// Times the six transposed convolutions of the paper's generators on any backend:
/// forward = <see cref="IBackend.ConvBackwardData"/> of the matching convolution,
/// backward = <see cref="IBackend.ConvForward"/> (input gradient) + <see cref="IBackend.ConvBackwardFilter"/>
/// (weight gradient), also reported separately.
/// </summary>
public static class DeconvBench
{
    /// <summary>FLOP formula printed with the results.</summary>
    public const string FlopFormula = "deconv FLOP per pass = 2 x N x Cin x Hin x Win x Cout x k x k (backward = 2 passes)";

    /// <summary>The generators' transposed convolutions (faces: 8 -> 158 pixels; MNIST: 7 -> 28).</summary>
    public static IReadOnlyList<DeconvLayer> Layers { get; } =
    [
        new("face-uconv6 8->19", 256, 8, 256, 5, 2, 0),
        new("face-uconv7 19->39", 256, 19, 256, 5, 2, 1),
        new("face-uconv8 39->79", 256, 39, 92, 5, 2, 1),
        new("face-uconv9 79->158", 92, 79, 3, 2, 2, 0),
        new("mnist-uconv1 7->14", 256, 7, 128, 4, 2, 1),
        new("mnist-uconv2 14->28", 128, 14, 3, 4, 2, 1),
    ];

    /// <summary>Every layer's <see cref="DeconvLayer.Footprint"/> at <paramref name="batch"/> (see <see cref="BenchLimits"/>).</summary>
    public static IReadOnlyList<BenchFootprint> Footprints(int batch, IReadOnlyList<DeconvLayer>? layers = null) =>
        (layers ?? Layers).Select(l => l.Footprint(batch)).ToList();

    /// <summary>Seconds <see cref="Run"/> cannot go below at <paramref name="peakGflops"/> (0 when the peak is unknown).</summary>
    public static double MinimumSeconds(int batch, double peakGflops, IReadOnlyList<DeconvLayer>? layers = null,
        double minSeconds = DefaultMinSeconds) =>
        BenchTiming.MinimumSeconds((layers ?? Layers).SelectMany(l => new[] { l.Flops(batch), l.Flops(batch), l.Flops(batch) }),
            peakGflops, minSeconds);

    /// <summary>The time budget of each pass's rounds.</summary>
    public const double DefaultMinSeconds = 0.3;

    /// <summary>
    /// Times every layer (or <paramref name="layers"/>) at <paramref name="batch"/> after
    /// <paramref name="warmup"/> calls; each pass is the best of 5 rounds filling <paramref name="minSeconds"/>.
    /// </summary>
    public static IReadOnlyList<DeconvResult> Run(IBackend backend, int batch, IReadOnlyList<DeconvLayer>? layers = null,
        int warmup = 2, double minSeconds = DefaultMinSeconds)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be positive");
        var results = new List<DeconvResult>();
        foreach (var layer in layers ?? Layers)
        {
            results.Add(TimeLayer(backend, layer, batch, warmup, minSeconds));
            // the layer's arrays (CPU tensors and host copies are managed) are garbage once
            // TimeLayer returns: collected here, the next layer's memory is its own, as
            // BenchLimits plans for, instead of adding to what the GC has not yet taken back
            BenchTiming.FreeGarbage();
        }
        return results;
    }

    private static DeconvResult TimeLayer(IBackend backend, DeconvLayer layer, int batch, int warmup, double minSeconds)
    {
        var g = layer.Geometry(batch);
        using var input = BenchTiming.Random(backend, 1, g.YShape);   // deconv input
        using var output = backend.Allocate(g.XShape);                 // deconv output
        using var dOutput = BenchTiming.Random(backend, 2, g.XShape);
        using var dInput = backend.Allocate(g.YShape);
        using var w = BenchTiming.Random(backend, 3, g.WShape);
        using var dw = backend.Allocate(g.WShape);
        double fwd = BenchTiming.TimeMs(backend, () => backend.ConvBackwardData(g, input, w, output), warmup, minSeconds);
        double bwdData = BenchTiming.TimeMs(backend, () => backend.ConvForward(g, dOutput, w, dInput), warmup, minSeconds);
        double bwdFilter = BenchTiming.TimeMs(backend,
            () => backend.ConvBackwardFilter(g, dOutput, input, dw, accumulate: false), warmup, minSeconds);
        return new DeconvResult(layer, batch, fwd, bwdData, bwdFilter);
    }

    /// <summary>A fixed-width table: per layer, ms and GFLOP/s of forward, backward, and the two backward parts.</summary>
    public static string FormatTable(IReadOnlyList<DeconvResult> results, double peakGflops)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{FlopFormula}; peak {peakGflops:F1} GFLOP/s; batch {(results.Count > 0 ? results[0].Batch : 0)}");
        sb.AppendLine($"{"layer",-22} {"GFLOP",7} | {"fwd ms",8} {"GFLOP/s",8} {"%peak",6} | {"bwd ms",8} {"GFLOP/s",8} " +
                      $"{"%peak",6} | {"bwd-data",8} {"bwd-filt",8} GFLOP/s");
        foreach (var r in results)
        {
            sb.AppendLine($"{r.Layer.Name,-22} {r.Flops / 1e9,7:F3} | {r.ForwardMs,8:F2} {r.ForwardGflops,8:F1} " +
                          $"{BenchTiming.Percent(r.ForwardGflops, peakGflops),6:F1} | {r.BackwardMs,8:F2} " +
                          $"{r.BackwardGflops,8:F1} {BenchTiming.Percent(r.BackwardGflops, peakGflops),6:F1} | " +
                          $"{r.BackwardDataGflops,8:F1} {r.BackwardFilterGflops,8:F1}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// One JSON line: {"layers":[{"name","forward_ms","backward_ms","backward_data_ms","backward_filter_ms",
    /// "forward_gflops","backward_gflops","backward_data_gflops","backward_filter_gflops"}],"peak_gflops":...}.
    /// </summary>
    public static string ToJson(IReadOnlyList<DeconvResult> results, double peakGflops)
    {
        var doc = new
        {
            layers = results.Select(r => new
            {
                name = r.Layer.Name,
                forward_ms = Math.Round(r.ForwardMs, 4),
                backward_ms = Math.Round(r.BackwardMs, 4),
                backward_data_ms = Math.Round(r.BackwardDataMs, 4),
                backward_filter_ms = Math.Round(r.BackwardFilterMs, 4),
                forward_gflops = Math.Round(r.ForwardGflops, 2),
                backward_gflops = Math.Round(r.BackwardGflops, 2),
                backward_data_gflops = Math.Round(r.BackwardDataGflops, 2),
                backward_filter_gflops = Math.Round(r.BackwardFilterGflops, 2),
            }),
            peak_gflops = Math.Round(peakGflops, 2),
        };
        return JsonSerializer.Serialize(doc, BenchTiming.Json);
    }
}
