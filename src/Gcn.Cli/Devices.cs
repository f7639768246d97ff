using GcnNative.Cpu;

namespace GcnNative.Cli;

/// <summary>A device that was asked for and cannot run; the message says why in one line.</summary>
public sealed class DeviceException(string message) : Exception(message);

/// <summary>Chooses the backend for --device cpu|cuda|auto and says which one was picked and why.</summary>
public static class Devices
{
    public static IBackend Create(string? device, int? threads, bool tf32, TextWriter log)
    {
        string choice = device ?? "auto";
        switch (choice)
        {
            case "cpu":
                var cpu = new CpuBackend(CpuPath.Fast, threads ?? 0);
                log.WriteLine($"device: cpu (asked for): {cpu.Description}");
                return cpu;
            case "cuda":
                if (TryCuda(tf32, out var cuda, out string why))
                {
                    log.WriteLine($"device: cuda (asked for): {cuda!.Description}{(tf32 ? ", TF32 on" : ", TF32 off")}");
                    return cuda;
                }
                throw new DeviceException($"--device cuda: CUDA cannot run here: {why}");
            case "auto":
                if (TryCuda(tf32, out var auto, out string whyNot))
                {
                    log.WriteLine($"device: cuda (auto: a usable GPU was found): {auto!.Description}");
                    return auto;
                }
                var fallback = new CpuBackend(CpuPath.Fast, threads ?? 0);
                log.WriteLine($"device: cpu (auto: {whyNot}): {fallback.Description}");
                return fallback;
            default:
                throw new UsageException($"--device expects cpu, cuda or auto, got '{choice}'");
        }
    }

    private static bool TryCuda(bool tf32, out IBackend? backend, out string whyNot)
    {
        bool ok = GcnNative.Cuda.CudaBackend.TryCreate(tf32, out var cuda, out whyNot);
        backend = cuda;
        return ok;
    }
}
