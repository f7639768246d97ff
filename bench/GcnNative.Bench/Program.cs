using BenchmarkDotNet.Running;

namespace GcnNative.Bench;

/// <summary>
/// BenchmarkDotNet suites (GEMM, transposed convolution, training step), each with a Device
/// parameter: the CPU backend always, CUDA with TF32 off and on where a usable GPU is found
/// (every CUDA call is followed by Synchronize, so the timing covers the GPU's work):
///   dotnet run -c Release --project bench/GcnNative.Bench -- --filter '*'
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string? why = BenchDevices.CudaUnavailableReason;
        Console.WriteLine(why == null
            ? "devices: cpu, cuda (TF32 off), cuda-tf32"
            : $"devices: cpu; CUDA suites skipped: {why}");
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        // failure is the exit code: a benchmark that threw or produced no result fails the run
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
