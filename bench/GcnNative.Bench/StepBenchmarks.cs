using BenchmarkDotNet.Attributes;
using GcnNative.Model;
using GcnNative.Training;

namespace GcnNative.Bench;

/// <summary>
/// One whole training iteration (classifier step on the real batch, then the generator step
/// through the classifier) of each CPU-sized preset at its own batch size, on random data, on
/// each bench device.
/// The paper's faces network (about 1.8 TFLOP per iteration) is left to `gcn bench step`.
/// </summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    private IBackend _backend = null!;
    private GcnModel _model = null!;
    private int _iteration;

    [ParamsSource(nameof(DeviceNames))]
    public string Device { get; set; } = BenchDevices.Cpu;

    public static IEnumerable<string> DeviceNames => BenchDevices.Names;

    [Params("mnist-small", "mnist", "faces-small")]
    public string Preset { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _backend = BenchDevices.Create(Device);
        var config = Presets.Load(Preset);
        _model = StepBench.RandomBatchModel(config, _backend, config.Training.Batch);
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public void TrainingIteration()
    {
        _model.TrainIteration(_iteration++, readLosses: false);
        _backend.Synchronize();
    }
}
