using BenchmarkDotNet.Attributes;
using GcnNative.Benchmarking;

namespace GcnNative.Bench;

/// <summary>
/// <see cref="IBackend.Gemm"/> on each bench device for the square 1024 problem and the fully
/// connected layers of the paper's networks at batch 64 (see <see cref="GemmBench.DefaultShapes"/>).
/// FLOP = 2 m n k.
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private IBackend _backend = null!;
    private GemmShape _shape = null!;
    private Tensor _a = null!, _b = null!, _c = null!;

    /// <summary>Shape name as in <see cref="GemmBench.DefaultShapes"/>.</summary>
    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "";

    [ParamsSource(nameof(DeviceNames))]
    public string Device { get; set; } = BenchDevices.Cpu;

    public static IEnumerable<string> DeviceNames => BenchDevices.Names;

    public static IEnumerable<string> ShapeNames => GemmBench.DefaultShapes().Select(s => s.Name);

    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchDevices.Create(Device);
        _shape = GemmBench.DefaultShapes().Single(s => s.Name == Shape);
        _a = _backend.Allocate(_shape.M * _shape.K);
        _b = _backend.Allocate(_shape.K * _shape.N);
        _c = _backend.Allocate(_shape.M * _shape.N);
        _backend.Fill(_a, 0.5f);
        _backend.Fill(_b, 0.25f);
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public void Gemm()
    {
        _backend.Gemm(_shape.TransA, _shape.TransB, _shape.M, _shape.N, _shape.K, 1f, _a, _b, 0f, _c);
        _backend.Synchronize();
    }
}
