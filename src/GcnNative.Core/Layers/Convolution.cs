namespace GcnNative.Layers;

/// <summary>
/// 2-D convolution (cross-correlation) with bias: W is [outChannels, inChannels, k, k].
/// out = (in + 2 pad - k) / stride + 1.
/// </summary>
public sealed class Convolution : Layer
{
    private Parameter _weight = null!;
    private Parameter _bias = null!;
    private ConvGeometry _g;
    private int[] _inShape = [];

    public Convolution(string name, int outChannels, int kernel, int stride, int pad, float initSlope) : base(name)
    {
        Require(outChannels > 0 && kernel > 0 && stride > 0 && pad >= 0,
            $"{name}: conv needs positive channels/kernel/stride and pad >= 0");
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Pad = pad;
        InitSlope = initSlope;
    }

    public int OutChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Pad { get; }
    public float InitSlope { get; }
    public ConvGeometry Geometry => _g;
    public override IReadOnlyList<Parameter> Parameters => [_weight, _bias];
    public override double ForwardFlops => _g.Flops;

    public override string Describe() =>
        $"conv {_inShape[0]}->{OutChannels} k{Kernel} s{Stride} p{Pad} ({_inShape[1]}x{_inShape[2]})";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: conv needs a [channels, height, width] input, got {Tensor.ShapeString(inputShape)}");
        var g = ConvGeometry.Create(1, inputShape[0], inputShape[1], inputShape[2], OutChannels, Kernel, Stride, Pad);
        return [OutChannels, g.OutHeight, g.OutWidth];
    }

    public override void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init)
    {
        _inShape = inputShape;
        _weight = Parameter.Create(backend, $"{prefix}{Name}.weight", OutChannels, inputShape[0], Kernel, Kernel);
        _bias = Parameter.Create(backend, $"{prefix}{Name}.bias", OutChannels);
        HeUniform(backend, _weight.Value, inputShape[0] * Kernel * Kernel, init, InitSlope);
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        _g = ConvGeometry.Create(Input.Batch, _inShape[0], _inShape[1], _inShape[2], OutChannels, Kernel, Stride, Pad);
    }

    public override void Forward(bool training)
    {
        Backend.ConvForward(_g, Input, _weight.Value, Output);
        Backend.AddBias(Output, _bias.Value, _g.Batch, OutChannels, _g.OutHeight * _g.OutWidth);
    }

    public override void Backward(BackwardMode mode)
    {
        if (mode.ParameterGradients)
        {
            Backend.ConvBackwardFilter(_g, Input, OutputGrad, _weight.Grad, accumulate: false);
            Backend.BiasGradient(OutputGrad, _bias.Grad, _g.Batch, OutChannels, _g.OutHeight * _g.OutWidth, false);
        }
        if (mode.InputGradient && InputGrad is not null)
            Backend.ConvBackwardData(_g, OutputGrad, _weight.Value, InputGrad);
    }
}

/// <summary>
/// Transposed convolution ("deconvolution") with bias, built on the ordinary convolution's
/// passes: forward = backward-data of the matching convolution, input gradient = that
/// convolution's forward, weight gradient = backward-filter with the activations swapped.
/// W is [inChannels, outChannels, k, k] (PyTorch's ConvTranspose2d layout).
/// out = (in - 1) stride + k - 2 pad.
/// </summary>
public sealed class TransposedConvolution : Layer
{
    private Parameter _weight = null!;
    private Parameter _bias = null!;
    private ConvGeometry _g; // X = this layer's output, Y = this layer's input
    private int[] _inShape = [];

    public TransposedConvolution(string name, int outChannels, int kernel, int stride, int pad, float initSlope)
        : base(name)
    {
        Require(outChannels > 0 && kernel > 0 && stride > 0 && pad >= 0,
            $"{name}: deconv needs positive channels/kernel/stride and pad >= 0");
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Pad = pad;
        InitSlope = initSlope;
    }

    public int OutChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Pad { get; }
    public float InitSlope { get; }
    public override IReadOnlyList<Parameter> Parameters => [_weight, _bias];
    public override double ForwardFlops => _g.Flops;

    public override string Describe() =>
        $"deconv {_inShape[0]}->{OutChannels} k{Kernel} s{Stride} p{Pad} ({_inShape[1]}x{_inShape[2]}->{_g.InHeight}x{_g.InWidth})";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: deconv needs a [channels, height, width] input, got {Tensor.ShapeString(inputShape)}");
        var g = ConvGeometry.ForTransposed(1, inputShape[0], inputShape[1], inputShape[2], OutChannels, Kernel, Stride, Pad);
        return [OutChannels, g.InHeight, g.InWidth];
    }

    public override void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init)
    {
        _inShape = inputShape;
        _weight = Parameter.Create(backend, $"{prefix}{Name}.weight", inputShape[0], OutChannels, Kernel, Kernel);
        _bias = Parameter.Create(backend, $"{prefix}{Name}.bias", OutChannels);
        // each output pixel receives about inChannels * k^2 / stride^2 contributions
        int fanIn = Math.Max(1, inputShape[0] * Kernel * Kernel / (Stride * Stride));
        HeUniform(backend, _weight.Value, fanIn, init, InitSlope);
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        _g = ConvGeometry.ForTransposed(Input.Batch, _inShape[0], _inShape[1], _inShape[2], OutChannels, Kernel, Stride, Pad);
    }

    public override void Forward(bool training)
    {
        Backend.ConvBackwardData(_g, Input, _weight.Value, Output);
        Backend.AddBias(Output, _bias.Value, _g.Batch, OutChannels, _g.InHeight * _g.InWidth);
    }

    public override void Backward(BackwardMode mode)
    {
        if (mode.ParameterGradients)
        {
            Backend.ConvBackwardFilter(_g, OutputGrad, Input, _weight.Grad, accumulate: false);
            Backend.BiasGradient(OutputGrad, _bias.Grad, _g.Batch, OutChannels, _g.InHeight * _g.InWidth, false);
        }
        if (mode.InputGradient && InputGrad is not null)
            Backend.ConvForward(_g, OutputGrad, _weight.Value, InputGrad);
    }
}
