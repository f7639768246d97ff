using BenchmarkDotNet.Attributes;
using GcnNative.Benchmarking;

namespace GcnNative.Bench;

/// <summary>
/// The six transposed convolutions of the paper's generators on each bench device:
/// forward (ConvBackwardData of the matching convolution), backward-data (ConvForward) and
/// backward-filter (ConvBackwardFilter). FLOP per pass = 2 N Cin Hin Win Cout k k.
/// </summary>
[MemoryDiagnoser]
public class DeconvBenchmarks
{
    private IBackend _backend = null!;
    private ConvGeometry _g;
    private Tensor _input = null!, _output = null!, _dOutput = null!, _dInput = null!, _w = null!, _dw = null!;

    /// <summary>Layer name as in <see cref="DeconvBench.Layers"/>.</summary>
    [ParamsSource(nameof(LayerNames))]
    public string Layer { get; set; } = "";

    [ParamsSource(nameof(DeviceNames))]
    public string Device { get; set; } = BenchDevices.Cpu;

    public static IEnumerable<string> DeviceNames => BenchDevices.Names;

    [Params(8)]
    public int Batch { get; set; }

    public static IEnumerable<string> LayerNames => DeconvBench.Layers.Select(l => l.Name);

    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchDevices.Create(Device);
        _g = DeconvBench.Layers.Single(l => l.Name == Layer).Geometry(Batch);
        _input = Fill(_g.YShape, 1);
        _output = _backend.Allocate(_g.XShape);
        _dOutput = Fill(_g.XShape, 2);
        _dInput = _backend.Allocate(_g.YShape);
        _w = Fill(_g.WShape, 3);
        _dw = _backend.Allocate(_g.WShape);
    }

    private Tensor Fill(int[] shape, int seed)
    {
        var t = _backend.Allocate(shape);
        var rng = new Random(seed);
        var host = new float[t.Length];
        for (int i = 0; i < host.Length; i++) host[i] = (float)(rng.NextDouble() * 2 - 1);
        _backend.Upload(t, host);
        return t;
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public void Forward()
    {
        _backend.ConvBackwardData(_g, _input, _w, _output);
        _backend.Synchronize();
    }

    [Benchmark]
    public void BackwardData()
    {
        _backend.ConvForward(_g, _dOutput, _w, _dInput);
        _backend.Synchronize();
    }

    [Benchmark]
    public void BackwardFilter()
    {
        _backend.ConvBackwardFilter(_g, _dOutput, _input, _dw, accumulate: false);
        _backend.Synchronize();
    }
}
