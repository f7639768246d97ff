namespace GcnNative.Cpu;

/// <summary>
/// The fast CPU path. Every method computes exactly what its <see cref="CpuReference"/>
/// namesake computes (up to float rounding) and is tested against it.
/// TODO: placeholder implementation (im2col + a simple row-parallel GEMM) until the
/// blocked, packed, register-tiled GEMM lands.
/// </summary>
public sealed class CpuFast : IDisposable
{
    public CpuFast(int threads) => Threads = threads;

    public int Threads { get; }

    public static string InstructionSet =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "portable";

    private float[] _col = [];

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, float[] b, float beta, float[] c)
    {
        // simple: materialise transposes, then C rows in parallel with Vector<float> axpy
        float[] an = a, bn = b;
        if (transA) { an = new float[m * k]; for (int p = 0; p < k; p++) for (int i = 0; i < m; i++) an[i * k + p] = a[p * m + i]; }
        if (transB) { bn = new float[k * n]; for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) bn[p * n + j] = b[j * k + p]; }
        Parallel.For(0, m, new ParallelOptions { MaxDegreeOfParallelism = Threads }, i =>
        {
            var row = c.AsSpan(i * n, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) for (int j = 0; j < n; j++) row[j] *= beta;
            var vr = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(row);
            int vn = vr.Length * System.Numerics.Vector<float>.Count;
            for (int p = 0; p < k; p++)
            {
                float av = alpha * an[i * k + p];
                if (av == 0) continue;
                var brow = bn.AsSpan(p * n, n);
                var vb = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(brow);
                var va = new System.Numerics.Vector<float>(av);
                for (int j = 0; j < vr.Length; j++) vr[j] += va * vb[j];
                for (int j = vn; j < n; j++) row[j] += av * brow[j];
            }
        });
    }

    private float[] Col(int size)
    {
        if (_col.Length < size) _col = new float[size];
        return _col;
    }

    // col[(ci*kh*kw + r), (oh*ow)] for one image
    private static void Im2Col(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col)
    {
        int plane = g.OutHeight * g.OutWidth;
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelH; kh++)
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int row = (ci * g.KernelH + kh) * g.KernelW + kw;
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    int iw = ow * g.StrideW - g.PadW + kw;
                    col[row * plane + oh * g.OutWidth + ow] =
                        ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth ? 0
                        : x[(ci * g.InHeight + ih) * g.InWidth + iw];
                }
            }
        }
    }

    private static void Col2Im(in ConvGeometry g, ReadOnlySpan<float> col, Span<float> x)
    {
        x.Clear();
        int plane = g.OutHeight * g.OutWidth;
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelH; kh++)
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int row = (ci * g.KernelH + kh) * g.KernelW + kw;
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                if (ih < 0 || ih >= g.InHeight) continue;
                for (int ow = 0; ow < g.OutWidth; ow++)
                {
                    int iw = ow * g.StrideW - g.PadW + kw;
                    if (iw < 0 || iw >= g.InWidth) continue;
                    x[(ci * g.InHeight + ih) * g.InWidth + iw] += col[row * plane + oh * g.OutWidth + ow];
                }
            }
        }
    }

    public void ConvForward(in ConvGeometry g, float[] x, float[] w, float[] y)
    {
        int kdim = g.InChannels * g.KernelH * g.KernelW, plane = g.OutHeight * g.OutWidth;
        int xs = g.InChannels * g.InHeight * g.InWidth, ys = g.OutChannels * plane;
        var col = new float[kdim * plane];
        var tmp = new float[ys];
        for (int n = 0; n < g.Batch; n++)
        {
            Im2Col(g, x.AsSpan(n * xs, xs), col);
            Gemm(false, false, g.OutChannels, plane, kdim, 1, w, col, 0, tmp);
            tmp.AsSpan().CopyTo(y.AsSpan(n * ys, ys));
        }
    }

    public void ConvBackwardData(in ConvGeometry g, float[] dy, float[] w, float[] dx)
    {
        int kdim = g.InChannels * g.KernelH * g.KernelW, plane = g.OutHeight * g.OutWidth;
        int xs = g.InChannels * g.InHeight * g.InWidth, ys = g.OutChannels * plane;
        var col = new float[kdim * plane];
        var dyn = new float[ys];
        for (int n = 0; n < g.Batch; n++)
        {
            dy.AsSpan(n * ys, ys).CopyTo(dyn);
            Gemm(true, false, kdim, plane, g.OutChannels, 1, w, dyn, 0, col);
            Col2Im(g, col, dx.AsSpan(n * xs, xs));
        }
    }

    public void ConvBackwardFilter(in ConvGeometry g, float[] x, float[] dy, float[] dw, bool accumulate)
    {
        int kdim = g.InChannels * g.KernelH * g.KernelW, plane = g.OutHeight * g.OutWidth;
        int xs = g.InChannels * g.InHeight * g.InWidth, ys = g.OutChannels * plane;
        var col = new float[kdim * plane];
        var dyn = new float[ys];
        if (!accumulate) Array.Clear(dw);
        for (int n = 0; n < g.Batch; n++)
        {
            Im2Col(g, x.AsSpan(n * xs, xs), col);
            dy.AsSpan(n * ys, ys).CopyTo(dyn);
            Gemm(false, true, g.OutChannels, kdim, plane, 1, dyn, col, 1, dw);
        }
    }

    public void AddBias(float[] y, float[] bias, int outer, int channels, int inner) =>
        CpuReference.AddBias(y, bias, outer, channels, inner);

    public void BiasGradient(float[] dy, float[] dBias, int outer, int channels, int inner, bool accumulate) =>
        CpuReference.BiasGradient(dy, dBias, outer, channels, inner, accumulate);

    public void LeakyReluForward(float[] x, float[] y, float slope) => CpuReference.LeakyReluForward(x, y, slope);

    public void LeakyReluBackward(float[] x, float[] dy, float[] dx, float slope) =>
        CpuReference.LeakyReluBackward(x, dy, dx, slope);

    public void MaxPoolForward(in PoolGeometry g, float[] x, float[] y) => CpuReference.MaxPoolForward(g, x, y);

    public void MaxPoolBackward(in PoolGeometry g, float[] x, float[] y, float[] dy, float[] dx) =>
        CpuReference.MaxPoolBackward(g, x, y, dy, dx);

    public void LrnForward(in LrnParams p, int batch, int channels, int plane, float[] x, float[] y, float[] scale) =>
        CpuReference.LrnForward(p, batch, channels, plane, x, y, scale);

    public void LrnBackward(in LrnParams p, int batch, int channels, int plane, float[] x, float[] y, float[] scale,
        float[] dy, float[] dx) => CpuReference.LrnBackward(p, batch, channels, plane, x, y, scale, dy, dx);

    public void AdamUpdate(float[] param, float[] grad, float[] m, float[] v, in AdamStep s) =>
        CpuReference.AdamUpdate(param, grad, m, v, s);

    public void Dispose() { }
}
