namespace GcnNative;

/// <summary>
/// The operations every layer is written against. Layers never touch storage directly,
/// so the same graph runs on the CPU backend (the reference) and the CUDA backend.
/// All matrices are row-major; images are NCHW. Unless a method says "accumulate",
/// it overwrites its output. Shapes are checked by the callers (layers) when the graph is
/// built; backends may re-check cheaply.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short name for logs: "cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>One line describing the device (CPU model and threads, GPU name).</summary>
    string Description { get; }

    // ---- memory -------------------------------------------------------------------

    /// <summary>Allocates a zero-filled tensor.</summary>
    Tensor Allocate(params int[] shape);

    /// <summary>Releases a tensor's storage (called by <see cref="Tensor.Dispose"/>).</summary>
    void Free(Tensor tensor);

    /// <summary>Copies host data into <paramref name="dst"/> starting at element <paramref name="offset"/>.</summary>
    void Upload(Tensor dst, ReadOnlySpan<float> src, int offset = 0);

    /// <summary>Copies <paramref name="dst"/>.Length elements from element <paramref name="offset"/> to the host.</summary>
    void Download(Tensor src, Span<float> dst, int offset = 0);

    void Fill(Tensor tensor, float value);

    /// <summary>dst = src (same length).</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Waits until queued work is done (no-op on the CPU).</summary>
    void Synchronize();

    // ---- dense algebra ------------------------------------------------------------

    /// <summary>
    /// C[m, n] = alpha * op(A) * op(B) + beta * C, row-major, op(A) is [m, k], op(B) is [k, n].
    /// A is stored [m, k] (or [k, m] when transA), B is [k, n] (or [n, k] when transB).
    /// beta = 0 ignores the previous contents of C (even NaN).
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c);

    /// <summary>y[o, c, i] += bias[c] for a tensor viewed as [outer, channels, inner].</summary>
    void AddBias(Tensor y, Tensor bias, int outer, int channels, int inner);

    /// <summary>dBias[c] (+)= sum over o, i of dy[o, c, i].</summary>
    void BiasGradient(Tensor dy, Tensor dBias, int outer, int channels, int inner, bool accumulate);

    /// <summary>y = alpha * x + y.</summary>
    void Axpy(float alpha, Tensor x, Tensor y);

    /// <summary>
    /// Copies a block of columns between row-major matrices: for each of <paramref name="rows"/>
    /// rows, dst[r, dstOffset + j] (+)= src[r, srcOffset + j] for j in [0, cols). Concat and split.
    /// </summary>
    void CopyColumns(Tensor src, int srcStride, int srcOffset, Tensor dst, int dstStride, int dstOffset,
        int rows, int cols, bool accumulate);

    // ---- convolution --------------------------------------------------------------

    /// <summary>y = conv(x, w) (cross-correlation, no bias).</summary>
    void ConvForward(in ConvGeometry g, Tensor x, Tensor w, Tensor y);

    /// <summary>dx = gradient of conv w.r.t. x given dy (overwrites dx). Also the transposed convolution's forward.</summary>
    void ConvBackwardData(in ConvGeometry g, Tensor dy, Tensor w, Tensor dx);

    /// <summary>dw (+)= gradient of conv w.r.t. w given x and dy.</summary>
    void ConvBackwardFilter(in ConvGeometry g, Tensor x, Tensor dy, Tensor dw, bool accumulate);

    // ---- elementwise and pooling --------------------------------------------------

    /// <summary>y = x &gt; 0 ? x : slope * x (y may be x).</summary>
    void LeakyReluForward(Tensor x, Tensor y, float slope);

    /// <summary>dx = x &gt; 0 ? dy : slope * dy, where x is the forward input (dx may be dy).</summary>
    void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope);

    void MaxPoolForward(in PoolGeometry g, Tensor x, Tensor y);

    /// <summary>dx = the pooled gradient routed to the first maximum of each window (overwrites dx).</summary>
    void MaxPoolBackward(in PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx);

    /// <summary>y = LRN(x); scale[n,c,h,w] = k + alpha/size * window sum of x^2 (kept for backward).</summary>
    void LrnForward(in LrnParams p, Tensor x, Tensor y, Tensor scale);

    void LrnBackward(in LrnParams p, Tensor x, Tensor y, Tensor scale, Tensor dy, Tensor dx);

    /// <summary>
    /// Inverted dropout: mask[i] = u(seed, i) &gt;= p ? 1 / (1 - p) : 0 with u from
    /// <see cref="CounterRng.Uniform"/> (the same numbers on every backend), y = x * mask.
    /// </summary>
    void DropoutForward(Tensor x, Tensor y, Tensor mask, float dropProbability, ulong seed);

    /// <summary>dx = dy * mask.</summary>
    void DropoutBackward(Tensor dy, Tensor mask, Tensor dx);

    // ---- losses and optimiser -----------------------------------------------------

    /// <summary>
    /// The fused weighted loss of the GCN, over a batch of N:
    /// for each head f with logits z = logits[:, off_f : off_f + K_f] and label l = labels[:, col_f]:
    ///   p = softmax(z) (max-subtracted, stable for large logits), CE_f = -(1/N) sum_n log p[n, l_n],
    ///   dLogits[:, head f] = classScale * w_f * (p - onehot(l)) / N.
    /// When <paramref name="prediction"/> is given (the generator's image) the Euclidean term
    ///   E = 1/(2N) sum (prediction - target)^2, dPrediction = pixelScale * (prediction - target) / N.
    /// lossTerms ([2 M + 2], written, not accumulated): CE_1..CE_M (unweighted), E (0 when absent),
    /// total = pixelScale E + classScale sum_f w_f CE_f, then the count of correct argmax per head.
    /// dLogits and dPrediction may be null when not needed.
    /// </summary>
    void WeightedLoss(Tensor logits, Tensor labels, ReadOnlySpan<LossHead> heads, float classScale,
        Tensor? dLogits, Tensor? prediction, Tensor? target, float pixelScale, Tensor? dPrediction,
        Tensor lossTerms);

    /// <summary>
    /// Adam (Kingma and Ba, with bias correction), L2 weight decay added to the gradient:
    ///   g' = g + wd * p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
    ///   p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),  t = step (1-based).
    /// </summary>
    void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamStep step);
}
