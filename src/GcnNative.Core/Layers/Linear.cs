namespace GcnNative.Layers;

/// <summary>
/// Fully connected: y[n, o] = sum_i x[n, i] W[o, i] + b[o]. Any input is viewed as
/// [batch, features]. W is [out, in] as in PyTorch's Linear, so checkpoints map directly.
/// </summary>
public sealed class Linear : Layer
{
    private Parameter _weight = null!;
    private Parameter _bias = null!;
    private int _in;

    public Linear(string name, int outFeatures, float initSlope) : base(name)
    {
        Require(outFeatures > 0, $"{name}: fc needs a positive width, got {outFeatures}");
        OutFeatures = outFeatures;
        InitSlope = initSlope;
    }

    public int OutFeatures { get; }
    public float InitSlope { get; }
    public override IReadOnlyList<Parameter> Parameters => [_weight, _bias];
    public override string Describe() => $"fc {_in}->{OutFeatures}";
    public override int[] OutputShape(int[] inputShape) => [OutFeatures];
    public override double ForwardFlops => 2.0 * BatchSize * _in * OutFeatures;

    public override void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init)
    {
        _in = Tensor.CountOf(inputShape);
        _weight = Parameter.Create(backend, $"{prefix}{Name}.weight", OutFeatures, _in);
        _bias = Parameter.Create(backend, $"{prefix}{Name}.bias", OutFeatures);
        HeUniform(backend, _weight.Value, _in, init, InitSlope);
    }

    public override void Forward(bool training)
    {
        int n = BatchSize;
        Backend.Gemm(false, true, n, OutFeatures, _in, 1f, Input, _weight.Value, 0f, Output);
        Backend.AddBias(Output, _bias.Value, n, OutFeatures, 1);
    }

    public override void Backward(BackwardMode mode)
    {
        int n = BatchSize;
        if (mode.ParameterGradients)
        {
            // dW[o, i] = sum_n dy[n, o] x[n, i]
            Backend.Gemm(true, false, OutFeatures, _in, n, 1f, OutputGrad, Input, 0f, _weight.Grad);
            Backend.BiasGradient(OutputGrad, _bias.Grad, n, OutFeatures, 1, accumulate: false);
        }
        if (mode.InputGradient && InputGrad is not null)
            Backend.Gemm(false, false, n, _in, OutFeatures, 1f, OutputGrad, _weight.Value, 0f, InputGrad);
    }
}
