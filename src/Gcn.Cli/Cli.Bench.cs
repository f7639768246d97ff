using System.Text.Json;
using GcnNative.Benchmarking;
using GcnNative.Training;

namespace GcnNative.Cli;

public static partial class Cli
{
    private const string BenchHelp = """
        gcn bench step (--preset NAME | --config FILE) [--batch N] [--iterations N] [--warmup N] [--layers] [--json]
        gcn bench deconv [--batch N] [--json]
        gcn bench gemm [--batch N] [--json]
                       (all: [--device cpu|cuda|auto] [--threads N] [--tf32])

          step     times whole training iterations (classifier step + generator step) on random
                   data after warm-up; --layers adds a per-layer timing table (slowest first);
                   --json prints one JSON line with ms_per_iter (with --layers, also "layers":
                   block, name, forward_ms, backward_ms per layer)
          deconv   forward, backward-data and backward-filter of the six GCN transposed
                   convolutions (batch 8 by default): time, GFLOP/s with the FLOP formula
                   2 x N x Cin x Hin x Win x Cout x k x k per pass, and % of this machine's peak
                   (measured in the same run with an FMA loop over all cores)
          gemm     1024^3 and the fully connected shapes of the mnist and faces presets (batch 64)
                   deconv and gemm refuse a --batch too large for one tensor or, on the CPU, for
                   75% of this machine's memory, naming the largest that fits
        """;

    private static int Bench(string[] args, TextWriter stdout)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            stdout.WriteLine(BenchHelp);
            return args.Length == 0 ? 1 : 0;
        }
        string kind = args[0];
        return kind switch
        {
            "step" => BenchStep(args[1..], stdout),
            "deconv" => BenchKernels(args[1..], stdout, deconv: true),
            "gemm" => BenchKernels(args[1..], stdout, deconv: false),
            _ => throw new UsageException($"bench: unknown benchmark '{kind}' (expected step, deconv or gemm)"),
        };
    }

    private static int BenchStep(string[] args, TextWriter stdout)
    {
        var a = new Args("bench step", args, ["preset", "config", "batch", "iterations", "warmup", "device", "threads"],
            ["json", "layers", "tf32"]);
        if (ShowHelp(a, stdout, BenchHelp)) return 0;
        a.NoPositional();
        var config = LoadConfig(a);
        bool json = a.Has("json");
        int batch = a.Int("batch", 1) ?? config.Training.Batch;
        int iterations = a.Int("iterations", 1) ?? 5, warmup = a.Int("warmup", 0) ?? 2;
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), json ? TextWriter.Null : stdout);
        // errors name the config as train names it: its file, or the preset
        var r = StepBench.Run(config, backend, batch, iterations, warmup, a.Has("layers"), ConfigSource(a));
        if (json)
        {
            var doc = new Dictionary<string, object>
            {
                ["bench"] = "step", ["config"] = r.Config, ["device"] = r.Device, ["batch"] = r.Batch,
                ["iterations"] = r.Iterations, ["warmup"] = r.Warmup, ["ms_per_iter"] = Math.Round(r.MsPerIter, 2),
                ["images_per_s"] = Math.Round(r.ImagesPerSecond, 1), ["gflop_per_iter"] = Math.Round(r.GflopPerIter, 2),
                ["gflops"] = Math.Round(r.GflopPerIter * 1000 / r.MsPerIter, 1),
            };
            if (r.Layers is not null)
                doc["layers"] = r.Layers.Select(l => new Dictionary<string, object>
                {
                    ["block"] = l.Block, ["name"] = l.Name, ["forward_ms"] = Math.Round(l.ForwardMs, 3),
                    ["backward_ms"] = Math.Round(l.BackwardMs, 3), ["forward_gflops"] = Math.Round(l.ForwardGflops, 1),
                }).ToList();
            stdout.WriteLine(JsonSerializer.Serialize(doc, BenchJson));
        }
        else
        {
            stdout.WriteLine($"bench step: {r.Config} batch {r.Batch} on {r.Device}: {r.MsPerIter:F1} ms/iter " +
                             $"({r.ImagesPerSecond:F0} images/s, {r.GflopPerIter:F1} GFLOP/iter = {r.GflopPerIter * 1000 / r.MsPerIter:F1} GFLOP/s; " +
                             $"{MeanOf(r.Iterations, r.Warmup)})");
            if (r.LayerTable is not null) stdout.WriteLine(r.LayerTable);
        }
        return 0;
    }

    /// <summary>"mean of 5 after 2 warm-up iterations", or "1 iteration, no warm-up" (--warmup 0).</summary>
    private static string MeanOf(int iterations, int warmup) =>
        (iterations == 1 ? "1 iteration" : $"mean of {iterations}") +
        (warmup == 0 ? ", no warm-up" : $" after {warmup} warm-up iteration{(warmup == 1 ? "" : "s")}");

    /// <summary>Plain JSON: layer names such as "fc 64->8" keep their '>' instead of the HTML-safe \u003E escape.</summary>
    private static readonly JsonSerializerOptions BenchJson =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static int BenchKernels(string[] args, TextWriter stdout, bool deconv)
    {
        string name = deconv ? "bench deconv" : "bench gemm";
        var a = new Args(name, args, ["batch", "device", "threads"], ["json", "tf32"]);
        if (ShowHelp(a, stdout, BenchHelp)) return 0;
        a.NoPositional();
        bool json = a.Has("json");
        int batch = a.Int("batch", 1) ?? (deconv ? 8 : 64);
        Func<int, IReadOnlyList<BenchFootprint>> footprints = deconv ? b => DeconvBench.Footprints(b) : GemmBench.Footprints;
        // before the device line: tensor sizes, and the memory when the tensors are known to be in this
        // process (--device cpu); with auto, the memory once the device is chosen
        if (BenchLimits.TooLarge("--batch", batch, footprints, a.Get("device") == "cpu" ? BenchLimits.AvailableBytes : 0) is { } tooLarge)
            throw new UsageException(tooLarge);
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), json ? TextWriter.Null : stdout);
        // The CPU's peak is what the percentages compare with (on a GPU the column is left out).
        // It is measured before and after the shapes and the better one kept: on a shared
        // machine a neighbour's burst during one measurement would otherwise inflate every %.
        bool cpu = backend.Name == "cpu";
        if (cpu && BenchLimits.TooLarge("--batch", batch, footprints, BenchLimits.AvailableBytes) is { } tooMuch)
            throw new UsageException(tooMuch);
        double before = cpu ? PeakFlops.Measure(Environment.ProcessorCount) : 0;
        var shapes = GemmBench.DefaultShapes(batch);
        double floor = deconv ? DeconvBench.MinimumSeconds(batch, before) : GemmBench.MinimumSeconds(shapes, before);
        if (!json && floor >= 60)
            stdout.WriteLine($"{name}: batch {batch} takes at least {floor / 60:F0} min here (its FLOP at the measured peak " +
                             $"of {before:F0} GFLOP/s); Ctrl-C stops it");
        IReadOnlyList<DeconvResult>? deconvResults = null;
        IReadOnlyList<GemmResult>? gemmResults = null;
        if (deconv) deconvResults = DeconvBench.Run(backend, batch);
        else gemmResults = GemmBench.Run(backend, shapes);
        double after = cpu ? PeakFlops.Measure(Environment.ProcessorCount) : 0;
        double peak = Math.Max(before, after);
        if (!json && peak > 0)
            stdout.WriteLine($"peak: {peak:F1} GFLOP/s (FMA loop over {Environment.ProcessorCount} threads; " +
                             $"the better of {before:F1} before and {after:F1} after the shapes)");
        if (deconvResults is not null)
            stdout.WriteLine(json ? DeconvBench.ToJson(deconvResults, peak) : DeconvBench.FormatTable(deconvResults, peak));
        else
        {
            var r = gemmResults!.Select(g => g with { PercentOfPeak = (peak > 0 ? 100 * g.Gflops / peak : 0) }).ToList();
            stdout.WriteLine(json ? GemmBench.ToJson(r, peak) : GemmBench.FormatTable(r, peak));
        }
        return 0;
    }

    private const string DoctorHelp = """
        gcn doctor

        Reports the NVIDIA driver, the device (name, compute capability, memory) and, for each
        library (libcuda, cuBLAS, cuDNN 9), the path and version loaded or exactly why not.
        Exit code 0 only when CUDA training can run. GCN_CUDA_LIB_DIR (colon-separated folders)
        is searched first.
        """;

    private static int Doctor(string[] args, TextWriter stdout)
    {
        var a = new Args("doctor", args, [], []);
        if (ShowHelp(a, stdout, DoctorHelp)) return 0;
        a.NoPositional();
        return GcnNative.Cuda.CudaDoctor.Run(stdout);
    }

    private const string VerifyHelp = """
        gcn verify --device cuda [--tf32] [--parity-iterations N]

        Runs every backend operation on the CPU reference and on CUDA over shapes including odd
        ones, prints per operation the max absolute and relative error and the tolerance, then a
        parity run: the mnist-small preset trained N iterations (default 20) from the same seed on
        the CPU and on CUDA, the generator loss compared per iteration. Exit code non-zero on any
        breach, or (with one line saying why) when CUDA cannot run. TF32 stays off unless --tf32.
        """;

    private static int Verify(string[] args, TextWriter stdout)
    {
        var a = new Args("verify", args, ["device", "parity-iterations"], ["tf32"]);
        if (ShowHelp(a, stdout, VerifyHelp)) return 0;
        a.NoPositional();
        string device = a.Require("device");
        if (device != "cuda") throw new UsageException($"verify: only --device cuda can be verified (against the CPU), got '{device}'");
        bool tf32 = a.Has("tf32");
        if (!GcnNative.Cuda.CudaBackend.TryCreate(tf32, out var probe, out string whyNot))
            throw new DeviceException($"cuda: unavailable: {whyNot}");
        probe!.Dispose();
        int code = GcnNative.Cuda.CudaVerify.Run(stdout, tf32);
        int iterations = a.Int("parity-iterations", 1) ?? 20;
        bool parity = ParityRun(iterations, tf32, stdout);
        return code != 0 ? code : parity ? 0 : 1;
    }

    /// <summary>The same seed, config and random batch trained on the CPU and on CUDA; generator losses compared.</summary>
    private static bool ParityRun(int iterations, bool tf32, TextWriter stdout)
    {
        var config = GcnNative.Training.Presets.Load("mnist-small");
        float[] Train(IBackend backend)
        {
            var r = GcnNative.Training.StepBench.Losses(config, backend, batch: 16, iterations);
            return r;
        }
        using var cpu = new GcnNative.Cpu.CpuBackend(GcnNative.Cpu.CpuPath.Fast);
        if (!GcnNative.Cuda.CudaBackend.TryCreate(tf32, out var cuda, out string why))
        {
            stdout.WriteLine($"parity: cuda unavailable: {why}");
            return false;
        }
        using (cuda)
        {
            // float sums in another order drift over iterations; 2% on the total generator loss
            return GcnNative.Verify.BackendVerifier.ParityRun(cpu, cuda!, Train, tf32 ? 5e-2 : 2e-2, stdout);
        }
    }
}
