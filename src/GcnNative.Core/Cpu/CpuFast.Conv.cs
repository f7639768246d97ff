using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GcnNative.Cpu;

// Convolutions lowered onto the GEMM. Images are processed in groups of G: the im2col
// matrices of a group sit side by side, col[K, G * P] with K = Cin kh kw and P = Hout Wout,
// so small feature maps (6 x 6 at the end of the classifier) still give the GEMM a wide N.
//   forward:         y_g[Cout, G P]  = W[Cout, K] . col_g[K, G P]
//   backward data:   col_g[K, G P]   = W^T[K, Cout] . dy_g[Cout, G P], then col2im
//   backward filter: dW[Cout, K]    += dy_g[Cout, G P] . col_g^T[G P, K]
// With at least as many groups as threads, each worker takes whole groups and runs a
// single-threaded GEMM (no synchronisation inside a group); otherwise the groups run in
// turn and the GEMM itself is split across the workers.
public sealed unsafe partial class CpuFast
{
    /// <summary>GEMM columns a group aims for: below this the N edge tiles waste the kernel.</summary>
    private const int TargetColumns = 256;

    /// <summary>Largest im2col matrix a group builds, in floats (8 MiB), unless one image needs more.</summary>
    private const long ColBudget = 2L << 20;

    private enum ConvPass { Forward, BackwardData, BackwardFilter }

    private ParallelBody _convBody = null!;
    private ConvGeometry _cg;
    private ConvPass _cPass;
    private int _cGroup, _cGroups, _cChunk;
    private float* _cX, _cW, _cY, _cPackedW;
    private readonly AlignedBuffer _packedWeights = new();

    private void InitConvBodies() => _convBody = ConvItem;

    /// <summary>y = conv(x, w), as <see cref="CpuReference.ConvForward"/>.</summary>
    public void ConvForward(in ConvGeometry g, float[] x, float[] w, float[] y)
    {
        fixed (float* px = x, pw = w, py = y) RunConv(ConvPass.Forward, g, px, pw, py);
    }

    /// <summary>dx = conv gradient w.r.t. x (the transposed convolution's forward); overwrites dx.</summary>
    public void ConvBackwardData(in ConvGeometry g, float[] dy, float[] w, float[] dx)
    {
        fixed (float* px = dx, pw = w, py = dy) RunConv(ConvPass.BackwardData, g, px, pw, py);
    }

    /// <summary>dw (+)= conv gradient w.r.t. w.</summary>
    public void ConvBackwardFilter(in ConvGeometry g, float[] x, float[] dy, float[] dw, bool accumulate)
    {
        fixed (float* px = x, pw = dw, py = dy)
        {
            int wlen = g.OutChannels * g.InChannels * g.KernelH * g.KernelW;
            if (!accumulate) new Span<float>(pw, wlen).Clear();
            RunConv(ConvPass.BackwardFilter, g, px, pw, py);
        }
    }

    private void RunConv(ConvPass pass, in ConvGeometry g, float* x, float* w, float* y)
    {
        if (g.Batch == 0) return;
        long k = (long)g.InChannels * g.KernelH * g.KernelW, p = (long)g.OutHeight * g.OutWidth;
        int perThread = (g.Batch + Threads - 1) / Threads;
        int group = (int)Math.Clamp((TargetColumns + p - 1) / p, 1, perThread);
        group = (int)Math.Max(1, Math.Min(group, ColBudget / Math.Max(1, k * p)));
        int groups = (g.Batch + group - 1) / group;
        (_cg, _cPass, _cGroup, _cGroups) = (g, pass, group, groups);
        _cPackedW = null;
        if (pass != ConvPass.BackwardFilter)
        {
            // the weights are op(A) of every group's GEMM: pack them once for all groups and workers
            int rows = pass == ConvPass.Forward ? g.OutChannels : (int)k;
            int depth = pass == ConvPass.Forward ? (int)k : g.OutChannels;
            _cPackedW = _packedWeights.Ensure(PackedASize(rows, depth));
            PackWholeA(pass == ConvPass.BackwardData, w, (int)k, rows, depth, _cPackedW);
        }
        _cX = x;
        _cW = w;
        _cY = y;

        if (groups < Threads || Threads == 1)
        {
            // few images: one group after another, each GEMM split over the workers
            for (int i = 0; i < groups; i++)
                ConvGroup(i, 0, parallelGemm: true, pass == ConvPass.BackwardFilter ? w : null, accumulate: true);
            return;
        }

        if (pass != ConvPass.BackwardFilter)
        {
            _pool.Run(groups, _convBody);
            return;
        }

        // filter gradient: each of Threads contiguous chunks sums into its own buffer, then the
        // buffers are added in chunk order, so the result does not depend on scheduling
        _cChunk = (groups + Threads - 1) / Threads;
        int chunks = (groups + _cChunk - 1) / _cChunk;
        _pool.Run(chunks, _convBody);
        int wlen = g.OutChannels * (int)k;
        for (int c = 0; c < chunks; c++)
        {
            var partial = _workspaces[c].Partial.AsSpan(0, wlen);
            var dw = new Span<float>(w, wlen);
            AddInto(partial, dw);
        }
    }

    private void ConvItem(int item, int worker)
    {
        if (_cPass != ConvPass.BackwardFilter)
        {
            ConvGroup(item, worker, parallelGemm: false, null, false);
            return;
        }
        var ws = _workspaces[item];
        int wlen = _cg.OutChannels * _cg.InChannels * _cg.KernelH * _cg.KernelW;
        fixed (float* partial = Workspace.Grow(ref ws.Partial, wlen))
        {
            int first = item * _cChunk, last = Math.Min(_cGroups, first + _cChunk);
            for (int i = first; i < last; i++)
                ConvGroup(i, worker, parallelGemm: false, partial, accumulate: i > first);
        }
    }

    /// <summary>
    /// One group of images. For the filter gradient the result goes to <paramref name="dw"/>,
    /// overwritten unless <paramref name="accumulate"/>.
    /// </summary>
    private void ConvGroup(int index, int worker, bool parallelGemm, float* dw, bool accumulate)
    {
        ref readonly var g = ref _cg;
        int n0 = index * _cGroup, count = Math.Min(_cGroup, g.Batch - n0);
        int k = g.InChannels * g.KernelH * g.KernelW, p = g.OutHeight * g.OutWidth, cols = count * p;
        long xs = (long)g.InChannels * g.InHeight * g.InWidth, ys = (long)g.OutChannels * p;
        var ws = _workspaces[worker];
        float* x = _cX + n0 * xs, y = _cY + n0 * ys;

        fixed (float* col = Workspace.Grow(ref ws.Col, (long)k * cols))
        fixed (float* gathered = Workspace.Grow(ref ws.Gathered, count > 1 ? (long)g.OutChannels * cols : 1))
        {
            // y or dy of the group as one [Cout, cols] matrix
            float* yg = count == 1 ? y : gathered;
            switch (_cPass)
            {
                case ConvPass.Forward:
                    for (int i = 0; i < count; i++) Im2Col(g, x + i * xs, col + i * p, cols);
                    GemmCore(false, false, g.OutChannels, cols, k, 1f, _cW, k, col, cols, 0f, yg, cols,
                        parallelGemm, worker, _cPackedW);
                    if (count > 1) ScatterColumns(gathered, y, g.OutChannels, p, count);
                    break;
                case ConvPass.BackwardData:
                    if (count > 1) GatherColumns(y, gathered, g.OutChannels, p, count);
                    GemmCore(true, false, k, cols, g.OutChannels, 1f, _cW, k, yg, cols, 0f, col, cols,
                        parallelGemm, worker, _cPackedW);
                    for (int i = 0; i < count; i++) Col2Im(g, col + i * p, cols, x + i * xs);
                    break;
                default:
                    for (int i = 0; i < count; i++) Im2Col(g, x + i * xs, col + i * p, cols);
                    if (count > 1) GatherColumns(y, gathered, g.OutChannels, p, count);
                    GemmCore(false, true, g.OutChannels, k, cols, 1f, yg, cols, col, cols, accumulate ? 1f : 0f,
                        dw, k, parallelGemm, worker);
                    break;
            }
        }
    }

    /// <summary>dst[c, i P + s] = src[i][c, s]: the images' [channels, P] planes side by side.</summary>
    private static void GatherColumns(float* src, float* dst, int channels, int p, int count)
    {
        int cols = count * p;
        for (int i = 0; i < count; i++)
            for (int c = 0; c < channels; c++)
                new ReadOnlySpan<float>(src + ((long)i * channels + c) * p, p)
                    .CopyTo(new Span<float>(dst + (long)c * cols + i * p, p));
    }

    /// <summary>The inverse of <see cref="GatherColumns"/>.</summary>
    private static void ScatterColumns(float* src, float* dst, int channels, int p, int count)
    {
        int cols = count * p;
        for (int i = 0; i < count; i++)
            for (int c = 0; c < channels; c++)
                new ReadOnlySpan<float>(src + (long)c * cols + i * p, p)
                    .CopyTo(new Span<float>(dst + ((long)i * channels + c) * p, p));
    }

    /// <summary>
    /// Output columns [lo, hi) whose input column ow * stride - pad + offset lies in [0, size).
    /// </summary>
    private static (int Lo, int Hi) ValidRange(int outSize, int stride, int pad, int offset, int size)
    {
        int first = pad - offset;                      // smallest allowed ow * stride
        int lo = first <= 0 ? 0 : (first + stride - 1) / stride;
        int last = size - 1 + pad - offset;            // largest allowed ow * stride
        int hi = last < 0 ? 0 : Math.Min(outSize, last / stride + 1);
        return (Math.Min(lo, hi), hi);
    }

    /// <summary>col[(ci kh kw), oh Wout + ow] (row stride ldcol) for one image x[Cin, H, W]; zeros in the padding.</summary>
    private void Im2Col(in ConvGeometry g, float* x, float* col, int ldcol)
    {
        if (Kernel == GemmKernelKind.Avx512 && g.StrideW <= 2) Im2ColAvx512(g, x, col, ldcol);
        else Im2ColScalar(g, x, col, ldcol);
    }

    /// <summary>x[Cin, H, W] = sum of the col entries that read each pixel (overwrites x).</summary>
    private void Col2Im(in ConvGeometry g, float* col, int ldcol, float* x)
    {
        if (Kernel == GemmKernelKind.Avx512 && g.StrideW <= 2) Col2ImAvx512(g, col, ldcol, x);
        else Col2ImScalar(g, col, ldcol, x);
    }

    // The AVX-512 versions move each output row (Wout wide: 6 to 158 in the GCN layers) in
    // 16-lane pieces with masked loads and stores: a lane outside the row or in the padding is
    // neither read nor written (a masked-off lane does not fault either, so the pointer may
    // point into the padding left of the image). With stride 2 the even input lanes of two
    // loads are gathered by one two-source permute, and spread back the same way.

    /// <summary>Lanes j of a 16-lane piece starting at output column o0 with o0 + j in [lo, hi).</summary>
    private static Vector512<float> LaneMask(int o0, int lo, int hi)
    {
        var col = Vector512.CreateSequence(o0, 1);
        return (Vector512.GreaterThanOrEqual(col, Vector512.Create(lo)) & Vector512.LessThan(col, Vector512.Create(hi))).AsSingle();
    }

    /// <summary>Lanes j of a 32-float stride-2 input piece: j even, output column o0 + j / 2 in [lo, hi).</summary>
    private static Vector512<float> EvenLaneMask(int o0, int lo, int hi)
    {
        var lane = Vector512.CreateSequence(0, 1);
        var col = Vector512.ShiftRightArithmetic(lane, 1) + Vector512.Create(o0);
        var even = Vector512.Equals(lane & Vector512.Create(1), Vector512<int>.Zero);
        return (even & Vector512.GreaterThanOrEqual(col, Vector512.Create(lo)) & Vector512.LessThan(col, Vector512.Create(hi))).AsSingle();
    }

    private static void Im2ColAvx512(in ConvGeometry g, float* x, float* col, int ldcol)
    {
        int wo = g.OutWidth, ho = g.OutHeight, stride = g.StrideW, strideH = g.StrideH, padH = g.PadH, padW = g.PadW;
        int h = g.InHeight, w = g.InWidth, kernelH = g.KernelH, kernelW = g.KernelW, channels = g.InChannels;
        var gatherEven = Vector512.CreateSequence(0, 2);
        for (int ci = 0; ci < channels; ci++)
        for (int kh = 0; kh < kernelH; kh++)
        for (int kw = 0; kw < kernelW; kw++)
        {
            float* row = col + (long)((ci * kernelH + kh) * kernelW + kw) * ldcol;
            var (lo, hi) = ValidRange(wo, stride, padW, kw, w);
            // rows of the image this kernel row reads: oh in [ohLo, ohHi)
            var (ohLo, ohHi) = ValidRange(ho, strideH, padH, kh, h);
            float* s0 = x + (long)ci * h * w - padW + kw;
            for (int o0 = 0; o0 < wo; o0 += 16)
            {
                var store = LaneMask(o0, 0, wo);
                var m0 = stride == 1 ? LaneMask(o0, lo, hi) : EvenLaneMask(o0, lo, hi);
                var m1 = EvenLaneMask(o0 + 8, lo, hi);
                float* d = row + o0;
                for (int oh = 0; oh < ohLo; oh++) Avx512F.MaskStore(d + oh * wo, store, Vector512<float>.Zero);
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* s = s0 + (long)(oh * strideH - padH + kh) * w;
                    Vector512<float> v;
                    if (stride == 1) v = Avx512F.MaskLoad(s + o0, m0, Vector512<float>.Zero);
                    else v = Avx512F.PermuteVar16x32x2(Avx512F.MaskLoad(s + 2 * o0, m0, Vector512<float>.Zero), gatherEven,
                        Avx512F.MaskLoad(s + 2 * o0 + 16, m1, Vector512<float>.Zero));
                    Avx512F.MaskStore(d + oh * wo, store, v);
                }
                for (int oh = ohHi; oh < ho; oh++) Avx512F.MaskStore(d + oh * wo, store, Vector512<float>.Zero);
            }
        }
    }

    private static void Col2ImAvx512(in ConvGeometry g, float* col, int ldcol, float* x)
    {
        int wo = g.OutWidth, ho = g.OutHeight, stride = g.StrideW, strideH = g.StrideH, padH = g.PadH, padW = g.PadW;
        int h = g.InHeight, w = g.InWidth, kernelH = g.KernelH, kernelW = g.KernelW, channels = g.InChannels;
        new Span<float>(x, channels * h * w).Clear();
        var spreadLow = Vector512.ShiftRightArithmetic(Vector512.CreateSequence(0, 1), 1);
        var spreadHigh = spreadLow + Vector512.Create(8);
        for (int ci = 0; ci < channels; ci++)
        for (int kh = 0; kh < kernelH; kh++)
        for (int kw = 0; kw < kernelW; kw++)
        {
            float* row = col + (long)((ci * kernelH + kh) * kernelW + kw) * ldcol;
            var (lo, hi) = ValidRange(wo, stride, padW, kw, w);
            var (ohLo, ohHi) = ValidRange(ho, strideH, padH, kh, h);
            float* d0 = x + (long)ci * h * w - padW + kw;
            for (int o0 = lo / 16 * 16; o0 < hi; o0 += 16)
            {
                var valid = LaneMask(o0, lo, hi);
                var m0 = EvenLaneMask(o0, lo, hi);
                var m1 = EvenLaneMask(o0 + 8, lo, hi);
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    float* d = d0 + (long)(oh * strideH - padH + kh) * w;
                    var v = Avx512F.MaskLoad(row + oh * wo + o0, valid, Vector512<float>.Zero);
                    if (stride == 1)
                    {
                        Avx512F.MaskStore(d + o0, valid, Avx512F.MaskLoad(d + o0, valid, Vector512<float>.Zero) + v);
                        continue;
                    }
                    float* e = d + 2 * o0;
                    Avx512F.MaskStore(e, m0, Avx512F.MaskLoad(e, m0, Vector512<float>.Zero) + Avx512F.PermuteVar16x32(v, spreadLow));
                    Avx512F.MaskStore(e + 16, m1, Avx512F.MaskLoad(e + 16, m1, Vector512<float>.Zero) + Avx512F.PermuteVar16x32(v, spreadHigh));
                }
            }
        }
    }

    /// <summary>Portable <see cref="Im2Col"/>.</summary>
    private static void Im2ColScalar(in ConvGeometry g, float* x, float* col, int ldcol)
    {
        int wo = g.OutWidth;
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelH; kh++)
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            float* row = col + (long)((ci * g.KernelH + kh) * g.KernelW + kw) * ldcol;
            var (lo, hi) = ValidRange(wo, g.StrideW, g.PadW, kw, g.InWidth);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                float* d = row + oh * wo;
                int ih = oh * g.StrideH - g.PadH + kh;
                if (ih < 0 || ih >= g.InHeight)
                {
                    new Span<float>(d, wo).Clear();
                    continue;
                }
                float* s = x + ((long)ci * g.InHeight + ih) * g.InWidth - g.PadW + kw;
                for (int ow = 0; ow < lo; ow++) d[ow] = 0;
                // rows of the late layers are 6 wide: a span copy's call costs more than the loop
                if (g.StrideW == 1 && hi - lo >= 16) new ReadOnlySpan<float>(s + lo, hi - lo).CopyTo(new Span<float>(d + lo, hi - lo));
                else if (g.StrideW == 1) for (int ow = lo; ow < hi; ow++) d[ow] = s[ow];
                else for (int ow = lo; ow < hi; ow++) d[ow] = s[ow * g.StrideW];
                for (int ow = hi; ow < wo; ow++) d[ow] = 0;
            }
        }
    }

    /// <summary>Portable <see cref="Col2Im"/>.</summary>
    private static void Col2ImScalar(in ConvGeometry g, float* col, int ldcol, float* x)
    {
        int wo = g.OutWidth;
        new Span<float>(x, g.InChannels * g.InHeight * g.InWidth).Clear();
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelH; kh++)
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            float* row = col + (long)((ci * g.KernelH + kh) * g.KernelW + kw) * ldcol;
            var (lo, hi) = ValidRange(wo, g.StrideW, g.PadW, kw, g.InWidth);
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                if (ih < 0 || ih >= g.InHeight) continue;
                float* d = x + ((long)ci * g.InHeight + ih) * g.InWidth - g.PadW + kw;
                float* s = row + oh * wo;
                if (g.StrideW == 1 && hi - lo >= 16) AddInto(new ReadOnlySpan<float>(s + lo, hi - lo), new Span<float>(d + lo, hi - lo));
                else if (g.StrideW == 1) for (int ow = lo; ow < hi; ow++) d[ow] += s[ow];
                else for (int ow = lo; ow < hi; ow++) d[ow * g.StrideW] += s[ow];
            }
        }
    }
}
