using GcnNative.Cpu;
using GcnNative.Cuda;

namespace GcnNative.Bench;

/// <summary>
/// The devices every suite runs on: the CPU always; CUDA with TF32 off and on where a usable
/// GPU is found. The probe runs once per process; its reason is printed when CUDA is skipped.
/// </summary>
public static class BenchDevices
{
    public const string Cpu = "cpu", Cuda = "cuda", CudaTf32 = "cuda-tf32";

    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!CudaBackend.TryCreate(false, out var probe, out string whyNot)) return whyNot;
        probe!.Dispose();
        return null;
    });

    /// <summary>Why CUDA suites are skipped, or null where a GPU is usable.</summary>
    public static string? CudaUnavailableReason => Unavailable.Value;

    /// <summary>Values of each suite's Device parameter.</summary>
    public static IEnumerable<string> Names =>
        CudaUnavailableReason == null ? [Cpu, Cuda, CudaTf32] : [Cpu];

    /// <summary>A fresh backend for one suite case; CUDA calls are timed with a Synchronize after each.</summary>
    public static IBackend Create(string device)
    {
        switch (device)
        {
            case Cpu:
                return new CpuBackend(CpuPath.Fast);
            case Cuda:
            case CudaTf32:
                if (CudaBackend.TryCreate(device == CudaTf32, out var cuda, out string whyNot)) return cuda!;
                throw new InvalidOperationException($"CUDA was found at start but cannot run now: {whyNot}");
            default:
                throw new ArgumentException($"unknown bench device '{device}'");
        }
    }
}
