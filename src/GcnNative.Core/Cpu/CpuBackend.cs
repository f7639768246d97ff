namespace GcnNative.Cpu;

/// <summary>Which CPU code runs each operation.</summary>
public enum CpuPath
{
    /// <summary><see cref="CpuReference"/>: plain loops, the oracle for tests.</summary>
    Reference,

    /// <summary><see cref="CpuFast"/>: blocked, vectorised, multi-threaded.</summary>
    Fast,
}

/// <summary>
/// The CPU backend. Storage is a managed float[] per tensor. With <see cref="CpuPath.Fast"/>
/// (the default) the heavy operations run in <see cref="CpuFast"/>; with
/// <see cref="CpuPath.Reference"/> everything runs in <see cref="CpuReference"/>.
/// </summary>
public sealed class CpuBackend : IBackend
{
    public CpuBackend(CpuPath path = CpuPath.Fast, int threads = 0)
    {
        Path = path;
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        Fast = new CpuFast(Threads);
    }

    public CpuPath Path { get; }

    public int Threads { get; }

    internal CpuFast Fast { get; }

    public string Name => "cpu";

    public string Description =>
        $"CPU x{Threads} threads ({(Path == CpuPath.Fast ? CpuFast.InstructionSet : "reference loops")})";

    public static float[] Data(Tensor t)
    {
        if (t.Storage is not float[] a)
            throw new ArgumentException($"{t} is not a CPU tensor");
        return a;
    }

    public Tensor Allocate(params int[] shape) => new(this, (int[])shape.Clone(), new float[Tensor.CountOf(shape)]);

    public void Free(Tensor tensor) { }

    public void Upload(Tensor dst, ReadOnlySpan<float> src, int offset = 0) => src.CopyTo(Data(dst).AsSpan(offset));

    public void Download(Tensor src, Span<float> dst, int offset = 0) => Data(src).AsSpan(offset, dst.Length).CopyTo(dst);

    public void Fill(Tensor tensor, float value) => Data(tensor).AsSpan().Fill(value);

    public void Copy(Tensor src, Tensor dst) => Data(src).AsSpan().CopyTo(Data(dst));

    public void Synchronize() { }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c)
    {
        CheckLength(a, m * k, "Gemm A");
        CheckLength(b, k * n, "Gemm B");
        CheckLength(c, m * n, "Gemm C");
        if (Path == CpuPath.Reference)
            CpuReference.Gemm(transA, transB, m, n, k, alpha, Data(a), Data(b), beta, Data(c));
        else
            Fast.Gemm(transA, transB, m, n, k, alpha, Data(a), Data(b), beta, Data(c));
    }

    public void AddBias(Tensor y, Tensor bias, int outer, int channels, int inner)
    {
        if (Path == CpuPath.Reference) CpuReference.AddBias(Data(y), Data(bias), outer, channels, inner);
        else Fast.AddBias(Data(y), Data(bias), outer, channels, inner);
    }

    public void BiasGradient(Tensor dy, Tensor dBias, int outer, int channels, int inner, bool accumulate)
    {
        if (Path == CpuPath.Reference) CpuReference.BiasGradient(Data(dy), Data(dBias), outer, channels, inner, accumulate);
        else Fast.BiasGradient(Data(dy), Data(dBias), outer, channels, inner, accumulate);
    }

    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        var xs = Data(x);
        var ys = Data(y);
        if (Path == CpuPath.Fast) { Fast.Axpy(alpha, xs, ys); return; }
        for (int i = 0; i < ys.Length; i++) ys[i] += alpha * xs[i];
    }

    public void CopyColumns(Tensor src, int srcStride, int srcOffset, Tensor dst, int dstStride, int dstOffset,
        int rows, int cols, bool accumulate)
    {
        var s = Data(src);
        var d = Data(dst);
        for (int r = 0; r < rows; r++)
        {
            var from = s.AsSpan(r * srcStride + srcOffset, cols);
            var to = d.AsSpan(r * dstStride + dstOffset, cols);
            if (!accumulate) from.CopyTo(to);
            else for (int j = 0; j < cols; j++) to[j] += from[j];
        }
    }

    public void ConvForward(in ConvGeometry g, Tensor x, Tensor w, Tensor y)
    {
        CheckConv(g, x, w, y);
        if (Path == CpuPath.Reference) CpuReference.ConvForward(g, Data(x), Data(w), Data(y));
        else Fast.ConvForward(g, Data(x), Data(w), Data(y));
    }

    public void ConvBackwardData(in ConvGeometry g, Tensor dy, Tensor w, Tensor dx)
    {
        CheckConv(g, dx, w, dy);
        if (Path == CpuPath.Reference) CpuReference.ConvBackwardData(g, Data(dy), Data(w), Data(dx));
        else Fast.ConvBackwardData(g, Data(dy), Data(w), Data(dx));
    }

    public void ConvBackwardFilter(in ConvGeometry g, Tensor x, Tensor dy, Tensor dw, bool accumulate)
    {
        CheckConv(g, x, dw, dy);
        if (Path == CpuPath.Reference) CpuReference.ConvBackwardFilter(g, Data(x), Data(dy), Data(dw), accumulate);
        else Fast.ConvBackwardFilter(g, Data(x), Data(dy), Data(dw), accumulate);
    }

    public void LeakyReluForward(Tensor x, Tensor y, float slope)
    {
        if (Path == CpuPath.Reference) CpuReference.LeakyReluForward(Data(x), Data(y), slope);
        else Fast.LeakyReluForward(Data(x), Data(y), slope);
    }

    public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope)
    {
        if (Path == CpuPath.Reference) CpuReference.LeakyReluBackward(Data(x), Data(dy), Data(dx), slope);
        else Fast.LeakyReluBackward(Data(x), Data(dy), Data(dx), slope);
    }

    public void MaxPoolForward(in PoolGeometry g, Tensor x, Tensor y)
    {
        if (Path == CpuPath.Reference) CpuReference.MaxPoolForward(g, Data(x), Data(y));
        else Fast.MaxPoolForward(g, Data(x), Data(y));
    }

    public void MaxPoolBackward(in PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        if (Path == CpuPath.Reference) CpuReference.MaxPoolBackward(g, Data(x), Data(y), Data(dy), Data(dx));
        else Fast.MaxPoolBackward(g, Data(x), Data(y), Data(dy), Data(dx));
    }

    public void LrnForward(in LrnParams p, Tensor x, Tensor y, Tensor scale)
    {
        int plane = x.Shape[2] * x.Shape[3];
        if (Path == CpuPath.Reference)
            CpuReference.LrnForward(p, x.Shape[0], x.Shape[1], plane, Data(x), Data(y), Data(scale));
        else
            Fast.LrnForward(p, x.Shape[0], x.Shape[1], plane, Data(x), Data(y), Data(scale));
    }

    public void LrnBackward(in LrnParams p, Tensor x, Tensor y, Tensor scale, Tensor dy, Tensor dx)
    {
        int plane = x.Shape[2] * x.Shape[3];
        if (Path == CpuPath.Reference)
            CpuReference.LrnBackward(p, x.Shape[0], x.Shape[1], plane, Data(x), Data(y), Data(scale), Data(dy), Data(dx));
        else
            Fast.LrnBackward(p, x.Shape[0], x.Shape[1], plane, Data(x), Data(y), Data(scale), Data(dy), Data(dx));
    }

    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float dropProbability, ulong seed) =>
        CpuReference.DropoutForward(Data(x), Data(y), Data(mask), dropProbability, seed);

    public void DropoutBackward(Tensor dy, Tensor mask, Tensor dx)
    {
        var d = Data(dy);
        var m = Data(mask);
        var o = Data(dx);
        if (Path == CpuPath.Fast) { Fast.DropoutBackward(d, m, o); return; }
        for (int i = 0; i < o.Length; i++) o[i] = d[i] * m[i];
    }

    public void WeightedLoss(Tensor logits, Tensor labels, ReadOnlySpan<LossHead> heads, float classScale,
        Tensor? dLogits, Tensor? prediction, Tensor? target, float pixelScale, Tensor? dPrediction, Tensor lossTerms)
    {
        if (lossTerms.Length < 2 * heads.Length + 2)
            throw new ArgumentException($"lossTerms needs {2 * heads.Length + 2} elements, has {lossTerms.Length}");
        CpuReference.WeightedLoss(Data(logits), logits.ItemLength, Data(labels), labels.ItemLength, heads, classScale,
            dLogits is null ? default : Data(dLogits),
            prediction is null ? default : Data(prediction),
            target is null ? default : Data(target), pixelScale,
            dPrediction is null ? default : Data(dPrediction),
            Data(lossTerms), logits.Batch);
    }

    public void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamStep step)
    {
        if (Path == CpuPath.Reference) CpuReference.AdamUpdate(Data(param), Data(grad), Data(m), Data(v), step);
        else Fast.AdamUpdate(Data(param), Data(grad), Data(m), Data(v), step);
    }

    public void Dispose() => Fast.Dispose();

    private static void CheckLength(Tensor t, int expected, string what)
    {
        if (t.Length < expected)
            throw new ArgumentException($"{what}: needs {expected} elements, tensor has {t.Length} {Tensor.ShapeString(t.Shape)}");
    }

    private static void CheckConv(in ConvGeometry g, Tensor x, Tensor w, Tensor y)
    {
        // element counts spelled out: the XShape/WShape/YShape arrays would allocate on every call
        CheckLength(x, g.Batch * g.InChannels * g.InHeight * g.InWidth, "conv x");
        CheckLength(w, g.OutChannels * g.InChannels * g.KernelH * g.KernelW, "conv w");
        CheckLength(y, g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, "conv y");
    }
}
