using BenchmarkDotNet.Attributes;
using GcnNative.Cpu;
using GcnNative.Model;
using GcnNative.Training;

namespace GcnNative.Bench;

/// <summary>
/// One whole training iteration (classifier step on the real batch, then the generator step
/// through the classifier) of each CPU-sized preset at its own batch size, on random data.
/// The paper's faces network (about 1.8 TFLOP per iteration) is left to `gcn bench step`.
/// </summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    private CpuBackend _backend = null!;
    private GcnModel _model = null!;
    private int _iteration;

    [Params("mnist-small", "mnist", "faces-small")]
    public string Preset { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _backend = new CpuBackend(CpuPath.Fast);
        var config = Presets.Load(Preset);
        _model = StepBench.RandomBatchModel(config, _backend, config.Training.Batch);
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public void TrainingIteration() => _model.TrainIteration(_iteration++, readLosses: false);
}
