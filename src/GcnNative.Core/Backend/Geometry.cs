namespace GcnNative;

/// <summary>
/// Shape of an ordinary 2-D convolution (cross-correlation) over NCHW tensors.
/// x: [batch, inChannels, inHeight, inWidth]; w: [outChannels, inChannels, kernelH, kernelW];
/// y: [batch, outChannels, outHeight, outWidth], out = (in + 2 pad - kernel) / stride + 1.
/// A transposed convolution uses the geometry of the matching ordinary convolution with
/// x and y swapped (its input is this y, its output this x).
/// </summary>
public readonly record struct ConvGeometry(
    int Batch,
    int InChannels, int InHeight, int InWidth,
    int OutChannels, int OutHeight, int OutWidth,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadH, int PadW)
{
    public static ConvGeometry Create(int batch, int inChannels, int inHeight, int inWidth, int outChannels,
        int kernel, int stride, int pad)
    {
        // in long: a pad or stride near int.MaxValue must not wrap around into a plausible size
        long oh = ((long)inHeight + 2L * pad - kernel) / stride + 1;
        long ow = ((long)inWidth + 2L * pad - kernel) / stride + 1;
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException(
                $"convolution k{kernel} s{stride} p{pad} on {inHeight}x{inWidth} gives no output");
        if (oh > int.MaxValue || ow > int.MaxValue)
            throw new ArgumentException($"convolution k{kernel} s{stride} p{pad} on {inHeight}x{inWidth} gives an output too large ({oh}x{ow})");
        return new ConvGeometry(batch, inChannels, inHeight, inWidth, outChannels, (int)oh, (int)ow,
            kernel, kernel, stride, stride, pad, pad);
    }

    /// <summary>
    /// The ordinary convolution whose backward-data pass is the transposed convolution
    /// in [batch, inChannels, inH, inW] -> [batch, outChannels, outH, outW], with
    /// out = (in - 1) * stride + kernel - 2 pad. The returned geometry maps the deconv
    /// output (as its X) to the deconv input (as its Y).
    /// </summary>
    public static ConvGeometry ForTransposed(int batch, int inChannels, int inHeight, int inWidth,
        int outChannels, int kernel, int stride, int pad)
    {
        long oh = ((long)inHeight - 1) * stride + kernel - 2L * pad;
        long ow = ((long)inWidth - 1) * stride + kernel - 2L * pad;
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException(
                $"transposed convolution k{kernel} s{stride} p{pad} on {inHeight}x{inWidth} gives no output");
        if (oh > int.MaxValue || ow > int.MaxValue)
            throw new ArgumentException(
                $"transposed convolution k{kernel} s{stride} p{pad} on {inHeight}x{inWidth} gives an output too large ({oh}x{ow})");
        var g = new ConvGeometry(batch, outChannels, (int)oh, (int)ow, inChannels, inHeight, inWidth,
            kernel, kernel, stride, stride, pad, pad);
        // the forward convolution of the deconv output must land exactly on the deconv input
        long backH = (oh + 2L * pad - kernel) / stride + 1;
        long backW = (ow + 2L * pad - kernel) / stride + 1;
        if (backH != inHeight || backW != inWidth)
            throw new ArgumentException($"transposed convolution geometry is not invertible: {inHeight}x{inWidth}");
        return g;
    }

    public int[] XShape => [Batch, InChannels, InHeight, InWidth];
    public int[] YShape => [Batch, OutChannels, OutHeight, OutWidth];
    public int[] WShape => [OutChannels, InChannels, KernelH, KernelW];

    /// <summary>Multiply-adds of one pass times two: 2 N Cout Hout Wout Cin kh kw.</summary>
    public double Flops => 2.0 * Batch * OutChannels * OutHeight * OutWidth * InChannels * KernelH * KernelW;
}

/// <summary>Max pooling window over NCHW, no padding; output = floor((in - kernel) / stride) + 1 (floor mode).</summary>
public readonly record struct PoolGeometry(int Batch, int Channels, int InHeight, int InWidth,
    int OutHeight, int OutWidth, int Kernel, int Stride)
{
    public static PoolGeometry Create(int batch, int channels, int inHeight, int inWidth, int kernel, int stride)
    {
        // floor mode, as PyTorch's MaxPool2d default; 13 -> 6 and 28 -> 13 for k3 s2
        int oh = (int)(((long)inHeight - kernel) / stride + 1);
        int ow = (int)(((long)inWidth - kernel) / stride + 1);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"max pool k{kernel} s{stride} on {inHeight}x{inWidth} gives no output");
        return new PoolGeometry(batch, channels, inHeight, inWidth, oh, ow, kernel, stride);
    }

    public int[] XShape => [Batch, Channels, InHeight, InWidth];
    public int[] YShape => [Batch, Channels, OutHeight, OutWidth];
}

/// <summary>
/// Cross-channel local response normalisation (AlexNet, PyTorch's LocalResponseNorm):
/// y = x / (k + alpha/size * sum_{c' in window(c)} x_{c'}^2)^beta, window of `Size` channels
/// centred on c (size/2 before, (size-1)/2 after), clipped at the edges.
/// </summary>
public readonly record struct LrnParams(int Size, float Alpha, float Beta, float K);

/// <summary>
/// One softmax head of the fused loss: logits columns [Offset, Offset + Classes) of a
/// [batch, totalClasses] matrix, the label column index, and the head's weight w_f.
/// </summary>
public readonly record struct LossHead(int Offset, int Classes, int LabelColumn, float Weight);

/// <summary>Hyper-parameters of one Adam step (see <see cref="IBackend.AdamUpdate"/>).</summary>
public readonly record struct AdamStep(float LearningRate, float Beta1, float Beta2, float Epsilon,
    int Step, float WeightDecay);
