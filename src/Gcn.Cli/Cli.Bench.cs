using System.Text.Json;
using GcnNative.Training;

namespace GcnNative.Cli;

public static partial class Cli
{
    private const string BenchHelp = """
        gcn bench step (--preset NAME | --config FILE) [--batch N] [--iterations N] [--warmup N] [--layers] [--json]
                       [--device cpu|cuda|auto] [--threads N] [--tf32]

          step     times whole training iterations (classifier step + generator step) on random
                   data after warm-up; --layers adds a per-layer timing table (slowest first);
                   --json prints one JSON line with ms_per_iter
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
            _ => throw new UsageException($"bench: unknown benchmark '{kind}' (expected step)"),
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
        using var backend = Devices.Create(a.Get("device"), a.Int("threads", 1), a.Has("tf32"), json ? TextWriter.Null : stdout);
        int batch = a.Int("batch", 1) ?? config.Training.Batch;
        int iterations = a.Int("iterations", 1) ?? 5;
        var r = StepBench.Run(config, backend, batch, iterations, a.Int("warmup", 0) ?? 2, a.Has("layers"));
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["bench"] = "step", ["config"] = r.Config, ["device"] = r.Device, ["batch"] = r.Batch,
                ["iterations"] = r.Iterations, ["ms_per_iter"] = Math.Round(r.MsPerIter, 2),
                ["images_per_s"] = Math.Round(r.ImagesPerSecond, 1), ["gflop_per_iter"] = Math.Round(r.GflopPerIter, 2),
                ["gflops"] = Math.Round(r.GflopPerIter * 1000 / r.MsPerIter, 1),
            }));
        }
        else
        {
            stdout.WriteLine($"bench step: {r.Config} batch {r.Batch} on {r.Device}: {r.MsPerIter:F1} ms/iter " +
                             $"({r.ImagesPerSecond:F0} images/s, {r.GflopPerIter:F1} GFLOP/iter = {r.GflopPerIter * 1000 / r.MsPerIter:F1} GFLOP/s; mean of {r.Iterations} after warm-up)");
            if (r.LayerTable is not null) stdout.WriteLine(r.LayerTable);
        }
        return 0;
    }

    private static int Doctor(string[] args, TextWriter stdout) =>
        throw new DeviceException("cuda: unavailable: the CUDA backend is not part of this build");

    private static int Verify(string[] args, TextWriter stdout) =>
        throw new DeviceException("cuda: unavailable: the CUDA backend is not part of this build");
}
