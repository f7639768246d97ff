namespace GcnNative.Layers;

/// <summary>
/// What an ordinary and a transposed convolution share: output channels, a square kernel,
/// stride and padding, a weight and a bias, and the geometry built for the batch.
/// </summary>
public abstract class ConvolutionBase : Layer
{
    protected Parameter WeightParam = null!;
    protected Parameter BiasParam = null!;
    protected ConvGeometry G;
    protected int[] InShape = [];

    protected ConvolutionBase(string name, string kind, int outChannels, int kernel, int stride, int pad, float initSlope)
        : base(name)
    {
        Require(outChannels > 0 && kernel > 0 && stride > 0 && pad >= 0,
            $"{name}: {kind} needs positive channels/kernel/stride and pad >= 0");
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
    public ConvGeometry Geometry => G;
    public override IReadOnlyList<Parameter> Parameters => [WeightParam, BiasParam];
    public override double ForwardFlops => G.Flops;
}

/// <summary>
/// 2-D convolution (cross-correlation) with bias: W is [outChannels, inChannels, k, k].
/// out = (in + 2 pad - k) / stride + 1.
/// </summary>
public sealed class Convolution(string name, int outChannels, int kernel, int stride, int pad, float initSlope)
    : ConvolutionBase(name, "conv", outChannels, kernel, stride, pad, initSlope)
{
    public override string Describe() =>
        $"conv {InShape[0]}->{OutChannels} k{Kernel} s{Stride} p{Pad} ({InShape[1]}x{InShape[2]})";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: conv needs a [channels, height, width] input, got {Tensor.ShapeString(inputShape)}");
        var g = ConvGeometry.Create(1, inputShape[0], inputShape[1], inputShape[2], OutChannels, Kernel, Stride, Pad);
        return [OutChannels, g.OutHeight, g.OutWidth];
    }

    public override void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init)
    {
        InShape = inputShape;
        WeightParam = Parameter.Create(backend, $"{prefix}{Name}.weight", OutChannels, inputShape[0], Kernel, Kernel);
        BiasParam = Parameter.Create(backend, $"{prefix}{Name}.bias", OutChannels);
        HeUniform(backend, WeightParam.Value, inputShape[0] * Kernel * Kernel, init, InitSlope);
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        G = ConvGeometry.Create(Input.Batch, InShape[0], InShape[1], InShape[2], OutChannels, Kernel, Stride, Pad);
    }

    public override void Forward(bool training)
    {
        Backend.ConvForward(G, Input, WeightParam.Value, Output);
        Backend.AddBias(Output, BiasParam.Value, G.Batch, OutChannels, G.OutHeight * G.OutWidth);
    }

    public override void Backward(BackwardMode mode)
    {
        if (mode.ParameterGradients)
        {
            Backend.ConvBackwardFilter(G, Input, OutputGrad, WeightParam.Grad, accumulate: false);
            Backend.BiasGradient(OutputGrad, BiasParam.Grad, G.Batch, OutChannels, G.OutHeight * G.OutWidth, false);
        }
        if (mode.InputGradient && InputGrad is not null)
            Backend.ConvBackwardData(G, OutputGrad, WeightParam.Value, InputGrad);
    }
}

/// <summary>
/// Transposed convolution ("deconvolution") with bias, built on the ordinary convolution's
/// passes: forward = backward-data of the matching convolution, input gradient = that
/// convolution's forward, weight gradient = backward-filter with the activations swapped.
/// W is [inChannels, outChannels, k, k] (PyTorch's ConvTranspose2d layout).
/// out = (in - 1) stride + k - 2 pad.
/// </summary>
/// <remarks>Its geometry is that of the matching ordinary convolution: X = this layer's output, Y = its input.</remarks>
public sealed class TransposedConvolution(string name, int outChannels, int kernel, int stride, int pad, float initSlope)
    : ConvolutionBase(name, "deconv", outChannels, kernel, stride, pad, initSlope)
{
    public override string Describe() =>
        $"deconv {InShape[0]}->{OutChannels} k{Kernel} s{Stride} p{Pad} ({InShape[1]}x{InShape[2]}->{G.InHeight}x{G.InWidth})";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: deconv needs a [channels, height, width] input, got {Tensor.ShapeString(inputShape)}");
        var g = ConvGeometry.ForTransposed(1, inputShape[0], inputShape[1], inputShape[2], OutChannels, Kernel, Stride, Pad);
        return [OutChannels, g.InHeight, g.InWidth];
    }

    public override void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init)
    {
        InShape = inputShape;
        WeightParam = Parameter.Create(backend, $"{prefix}{Name}.weight", inputShape[0], OutChannels, Kernel, Kernel);
        BiasParam = Parameter.Create(backend, $"{prefix}{Name}.bias", OutChannels);
        // each output pixel receives about inChannels * k^2 / stride^2 contributions
        int fanIn = Math.Max(1, inputShape[0] * Kernel * Kernel / (Stride * Stride));
        HeUniform(backend, WeightParam.Value, fanIn, init, InitSlope);
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        G = ConvGeometry.ForTransposed(Input.Batch, InShape[0], InShape[1], InShape[2], OutChannels, Kernel, Stride, Pad);
    }

    public override void Forward(bool training)
    {
        Backend.ConvBackwardData(G, Input, WeightParam.Value, Output);
        Backend.AddBias(Output, BiasParam.Value, G.Batch, OutChannels, G.InHeight * G.InWidth);
    }

    public override void Backward(BackwardMode mode)
    {
        if (mode.ParameterGradients)
        {
            Backend.ConvBackwardFilter(G, OutputGrad, Input, WeightParam.Grad, accumulate: false);
            Backend.BiasGradient(OutputGrad, BiasParam.Grad, G.Batch, OutChannels, G.InHeight * G.InWidth, false);
        }
        if (mode.InputGradient && InputGrad is not null)
            Backend.ConvForward(G, OutputGrad, WeightParam.Value, InputGrad);
    }
}
