using BenchmarkDotNet.Running;

namespace GcnNative.Bench;

/// <summary>
/// BenchmarkDotNet suites for the CPU backend:
///   dotnet run -c Release --project bench/GcnNative.Bench -- --filter '*'
/// GPU suites would be classes like these constructing the CUDA backend in [GlobalSetup] (the
/// backend calls Synchronize, so BenchmarkDotNet's timing stays honest); they are not part of this
/// project because the CUDA backend is not implemented yet.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("GPU suites skipped: GcnNative.Cuda provides no IBackend implementation yet; running CPU suites only.");
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        // failure is the exit code: a benchmark that threw or produced no result fails the run
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
