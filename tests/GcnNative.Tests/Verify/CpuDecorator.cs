using GcnNative.Cpu;

namespace GcnNative.Tests.Verify;

/// <summary>
/// A backend that forwards everything to a reference CPU backend; tests override one
/// method to make a deliberately wrong backend and check that the verifier notices.
/// </summary>
internal abstract class CpuDecorator : IBackend
{
    private readonly CpuBackend _inner = new(CpuPath.Reference);

    public string Name => "decorated-cpu";
    public string Description => "reference CPU with one op replaced";
    public Tensor Allocate(params int[] shape) => _inner.Allocate(shape);
    public void Free(Tensor tensor) => _inner.Free(tensor);
    public void Upload(Tensor dst, ReadOnlySpan<float> src, int offset = 0) => _inner.Upload(dst, src, offset);
    public void Download(Tensor src, Span<float> dst, int offset = 0) => _inner.Download(src, dst, offset);
    public void Fill(Tensor tensor, float value) => _inner.Fill(tensor, value);
    public void Copy(Tensor src, Tensor dst) => _inner.Copy(src, dst);
    public void Synchronize() => _inner.Synchronize();
    public virtual void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) =>
        _inner.Gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    public void AddBias(Tensor y, Tensor bias, int outer, int channels, int inner) =>
        _inner.AddBias(y, bias, outer, channels, inner);
    public void BiasGradient(Tensor dy, Tensor dBias, int outer, int channels, int inner, bool accumulate) =>
        _inner.BiasGradient(dy, dBias, outer, channels, inner, accumulate);
    public void Axpy(float alpha, Tensor x, Tensor y) => _inner.Axpy(alpha, x, y);
    public void CopyColumns(Tensor src, int srcStride, int srcOffset, Tensor dst, int dstStride, int dstOffset,
        int rows, int cols, bool accumulate) =>
        _inner.CopyColumns(src, srcStride, srcOffset, dst, dstStride, dstOffset, rows, cols, accumulate);
    public void ConvForward(in ConvGeometry g, Tensor x, Tensor w, Tensor y) => _inner.ConvForward(g, x, w, y);
    public void ConvBackwardData(in ConvGeometry g, Tensor dy, Tensor w, Tensor dx) => _inner.ConvBackwardData(g, dy, w, dx);
    public void ConvBackwardFilter(in ConvGeometry g, Tensor x, Tensor dy, Tensor dw, bool accumulate) =>
        _inner.ConvBackwardFilter(g, x, dy, dw, accumulate);
    public virtual void LeakyReluForward(Tensor x, Tensor y, float slope) => _inner.LeakyReluForward(x, y, slope);
    public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope) => _inner.LeakyReluBackward(x, dy, dx, slope);
    public void MaxPoolForward(in PoolGeometry g, Tensor x, Tensor y) => _inner.MaxPoolForward(g, x, y);
    public void MaxPoolBackward(in PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) =>
        _inner.MaxPoolBackward(g, x, y, dy, dx);
    public void LrnForward(in LrnParams p, Tensor x, Tensor y, Tensor scale) => _inner.LrnForward(p, x, y, scale);
    public void LrnBackward(in LrnParams p, Tensor x, Tensor y, Tensor scale, Tensor dy, Tensor dx) =>
        _inner.LrnBackward(p, x, y, scale, dy, dx);
    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float dropProbability, ulong seed) =>
        _inner.DropoutForward(x, y, mask, dropProbability, seed);
    public void DropoutBackward(Tensor dy, Tensor mask, Tensor dx) => _inner.DropoutBackward(dy, mask, dx);
    public void WeightedLoss(Tensor logits, Tensor labels, ReadOnlySpan<LossHead> heads, float classScale,
        Tensor? dLogits, Tensor? prediction, Tensor? target, float pixelScale, Tensor? dPrediction, Tensor lossTerms) =>
        _inner.WeightedLoss(logits, labels, heads, classScale, dLogits, prediction, target, pixelScale, dPrediction,
            lossTerms);
    public virtual void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamStep step) =>
        _inner.AdamUpdate(param, grad, m, v, step);
    public void Dispose() => _inner.Dispose();

    protected void BaseLeakyRelu(Tensor x, Tensor y, float slope) => _inner.LeakyReluForward(x, y, slope);
}
