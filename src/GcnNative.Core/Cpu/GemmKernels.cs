using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GcnNative.Cpu;

/// <summary>Which register-tiled micro-kernel the GEMM uses.</summary>
public enum GemmKernelKind
{
    /// <summary>8 x 32 tile, 16 zmm accumulators, AVX-512F FMA.</summary>
    Avx512,

    /// <summary>
    /// 6 x (2 Vector&lt;float&gt;.Count) tile with <see cref="Vector{T}"/>: 6 x 16 on AVX2,
    /// and whatever the hardware (or software fallback) gives elsewhere.
    /// </summary>
    Portable,
}

/// <summary>
/// Micro-kernels and packing for the blocked GEMM in <see cref="CpuFast"/>.
/// Packed layouts (the same for every kernel, only MR and NR differ):
///   A panel: [kc][MR] per MR rows of op(A), rows past m zero-filled;
///   B panel: [kc][NR] per NR columns of op(B), columns past n zero-filled.
/// A kernel computes one MR x NR tile: C = alpha * (A panel . B panel) + beta * C, beta = 0
/// never reading C (it may hold NaN).
/// </summary>
internal static unsafe class GemmKernels
{
    public const int Avx512Mr = 8, Avx512Nr = 32;
    public const int PortableMr = 6;
    public static int PortableNr => 2 * Vector<float>.Count;

    public static bool Avx512Available => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    // ---- AVX-512: 8 rows x 32 columns -------------------------------------------------

    /// <summary>
    /// c[8, 32] (ldc) = alpha * ap[kc][8] . bp[kc][32] + beta * c. Depth step p of B is at
    /// bp + p * ldbp: a packed panel (ldbp 32), or 32 columns of a row-major block.
    /// </summary>
    /// <param name="pf">
    /// Optional: the kernel also prefetches <paramref name="pfLines"/> cache lines into L2, one
    /// at every depth step p with p &amp; <paramref name="pfMask"/> == 0 (any left over at the
    /// end), so that a later block comes in from DRAM while this one is multiplied; a burst of
    /// prefetches up front stalls on the full miss queue instead. The lines are taken left to
    /// right from rows of <paramref name="pfLen"/> floats, <paramref name="pfLd"/> apart,
    /// starting at float <paramref name="pfCol"/> of the row at <paramref name="pf"/>.
    /// </param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Tile(int kc, float* ap, float* bp, float* c, int ldc, float alpha, float beta,
        int ldbp = Avx512Nr, float* pf = null, int pfLd = 0, int pfLen = 0, int pfCol = 0, int pfLines = 0,
        int pfMask = 3)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var a = Vector512.Create(ap[0]);
            c00 = Avx512F.FusedMultiplyAdd(a, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a, b1, c01);
            a = Vector512.Create(ap[1]);
            c10 = Avx512F.FusedMultiplyAdd(a, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a, b1, c11);
            a = Vector512.Create(ap[2]);
            c20 = Avx512F.FusedMultiplyAdd(a, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a, b1, c21);
            a = Vector512.Create(ap[3]);
            c30 = Avx512F.FusedMultiplyAdd(a, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a, b1, c31);
            a = Vector512.Create(ap[4]);
            c40 = Avx512F.FusedMultiplyAdd(a, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a, b1, c41);
            a = Vector512.Create(ap[5]);
            c50 = Avx512F.FusedMultiplyAdd(a, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a, b1, c51);
            a = Vector512.Create(ap[6]);
            c60 = Avx512F.FusedMultiplyAdd(a, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a, b1, c61);
            a = Vector512.Create(ap[7]);
            c70 = Avx512F.FusedMultiplyAdd(a, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a, b1, c71);
            ap += 8;
            bp += ldbp;
            if (pfLines > 0 && (p & pfMask) == 0)
            {
                PrefetchLine(ref pf, ref pfCol, pfLd, pfLen);
                pfLines--;
            }
        }
        for (; pfLines > 0; pfLines--) PrefetchLine(ref pf, ref pfCol, pfLd, pfLen);
        Store512(c, alpha, beta, c00, c01);
        Store512(c + ldc, alpha, beta, c10, c11);
        Store512(c + 2 * ldc, alpha, beta, c20, c21);
        Store512(c + 3 * ldc, alpha, beta, c30, c31);
        Store512(c + 4 * ldc, alpha, beta, c40, c41);
        Store512(c + 5 * ldc, alpha, beta, c50, c51);
        Store512(c + 6 * ldc, alpha, beta, c60, c61);
        Store512(c + 7 * ldc, alpha, beta, c70, c71);
    }

    /// <summary>
    /// tile[8, 32] = a[8 rows, kc] . bp[kc][32], with the 8 rows of A read in place (row r at
    /// rows[r], each contiguous in depth) instead of from a packed panel: for a weight matrix
    /// stored [out, in] that is read once per pass, packing it would cost more than it saves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512TileRows(int kc, float* a0, float* a1, float* a2, float* a3, float* a4, float* a5,
        float* a6, float* a7, float* bp, float* tile)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var a = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(a, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a, b1, c01);
            a = Vector512.Create(a1[p]);
            c10 = Avx512F.FusedMultiplyAdd(a, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a, b1, c11);
            a = Vector512.Create(a2[p]);
            c20 = Avx512F.FusedMultiplyAdd(a, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a, b1, c21);
            a = Vector512.Create(a3[p]);
            c30 = Avx512F.FusedMultiplyAdd(a, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a, b1, c31);
            a = Vector512.Create(a4[p]);
            c40 = Avx512F.FusedMultiplyAdd(a, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a, b1, c41);
            a = Vector512.Create(a5[p]);
            c50 = Avx512F.FusedMultiplyAdd(a, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a, b1, c51);
            a = Vector512.Create(a6[p]);
            c60 = Avx512F.FusedMultiplyAdd(a, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a, b1, c61);
            a = Vector512.Create(a7[p]);
            c70 = Avx512F.FusedMultiplyAdd(a, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a, b1, c71);
            bp += 32;
        }
        Vector512.Store(c00, tile); Vector512.Store(c01, tile + 16);
        Vector512.Store(c10, tile + 32); Vector512.Store(c11, tile + 48);
        Vector512.Store(c20, tile + 64); Vector512.Store(c21, tile + 80);
        Vector512.Store(c30, tile + 96); Vector512.Store(c31, tile + 112);
        Vector512.Store(c40, tile + 128); Vector512.Store(c41, tile + 144);
        Vector512.Store(c50, tile + 160); Vector512.Store(c51, tile + 176);
        Vector512.Store(c60, tile + 192); Vector512.Store(c61, tile + 208);
        Vector512.Store(c70, tile + 224); Vector512.Store(c71, tile + 240);
    }

    /// <summary>
    /// c[j, i] = alpha * tile[i, j] + beta * c[j, i] for i &lt; rows (of 8), j &lt; cols (of 32):
    /// merges a tile of C transposed (beta = 0 never reads c).
    /// </summary>
    public static void MergeTransposed(float* tile, int rows, int cols, float* c, int ldc, float alpha, float beta)
    {
        float* t = stackalloc float[32 * 8];
        if (Avx.IsSupported)
            for (int j = 0; j < 32; j += 8) Transpose8x8(tile + j, 32, t + j * 8, 8);
        else
            for (int i = 0; i < 8; i++) for (int j = 0; j < 32; j++) t[j * 8 + i] = tile[i * 32 + j];
        if (rows == 8 && Avx.IsSupported)
        {
            var va = Vector256.Create(alpha);
            var vb = Vector256.Create(beta);
            for (int j = 0; j < cols; j++)
            {
                var v = Vector256.Load(t + j * 8) * va;
                float* d = c + (long)j * ldc;
                if (beta != 0) v += Vector256.Load(d) * vb;
                Vector256.Store(v, d);
            }
            return;
        }
        for (int j = 0; j < cols; j++)
        {
            float* d = c + (long)j * ldc;
            for (int i = 0; i < rows; i++) d[i] = alpha * t[j * 8 + i] + (beta == 0 ? 0 : beta * d[i]);
        }
    }

    /// <summary>Prefetches the line at row + col into L2 and steps to the next (the next row past len).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchLine(ref float* row, ref int col, int ld, int len)
    {
        Sse.Prefetch1(row + col);
        col += 16;
        if (col >= len)
        {
            col = 0;
            row += ld;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, float alpha, float beta, Vector512<float> lo, Vector512<float> hi)
    {
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            Vector512.Store(lo * va, c);
            Vector512.Store(hi * va, c + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Vector512.Store(Avx512F.FusedMultiplyAdd(lo, va, Vector512.Load(c) * vb), c);
            Vector512.Store(Avx512F.FusedMultiplyAdd(hi, va, Vector512.Load(c + 16) * vb), c + 16);
        }
    }

    // ---- portable: 6 rows x 2 Vector<float> ---------------------------------------------

    /// <summary>c[6, 2 W] (ldc) = alpha * ap[kc][6] . bp[kc][2 W] + beta * c, W = Vector&lt;float&gt;.Count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PortableTile(int kc, float* ap, float* bp, float* c, int ldc, float alpha, float beta)
    {
        int w = Vector<float>.Count, nr = 2 * w;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector.Load(bp);
            var b1 = Vector.Load(bp + w);
            var a = new Vector<float>(ap[0]);
            c00 = Vector.MultiplyAddEstimate(a, b0, c00); c01 = Vector.MultiplyAddEstimate(a, b1, c01);
            a = new Vector<float>(ap[1]);
            c10 = Vector.MultiplyAddEstimate(a, b0, c10); c11 = Vector.MultiplyAddEstimate(a, b1, c11);
            a = new Vector<float>(ap[2]);
            c20 = Vector.MultiplyAddEstimate(a, b0, c20); c21 = Vector.MultiplyAddEstimate(a, b1, c21);
            a = new Vector<float>(ap[3]);
            c30 = Vector.MultiplyAddEstimate(a, b0, c30); c31 = Vector.MultiplyAddEstimate(a, b1, c31);
            a = new Vector<float>(ap[4]);
            c40 = Vector.MultiplyAddEstimate(a, b0, c40); c41 = Vector.MultiplyAddEstimate(a, b1, c41);
            a = new Vector<float>(ap[5]);
            c50 = Vector.MultiplyAddEstimate(a, b0, c50); c51 = Vector.MultiplyAddEstimate(a, b1, c51);
            ap += 6;
            bp += nr;
        }
        StorePortable(c, alpha, beta, c00, c01);
        StorePortable(c + ldc, alpha, beta, c10, c11);
        StorePortable(c + 2 * ldc, alpha, beta, c20, c21);
        StorePortable(c + 3 * ldc, alpha, beta, c30, c31);
        StorePortable(c + 4 * ldc, alpha, beta, c40, c41);
        StorePortable(c + 5 * ldc, alpha, beta, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePortable(float* c, float alpha, float beta, Vector<float> lo, Vector<float> hi)
    {
        int w = Vector<float>.Count;
        var va = new Vector<float>(alpha);
        if (beta == 0)
        {
            Vector.Store(lo * va, c);
            Vector.Store(hi * va, c + w);
        }
        else
        {
            var vb = new Vector<float>(beta);
            Vector.Store(lo * va + Vector.Load(c) * vb, c);
            Vector.Store(hi * va + Vector.Load(c + w) * vb, c + w);
        }
    }

    // ---- packing ---------------------------------------------------------------------

    /// <summary>
    /// Packs rows [0, mc) and depth [0, kc) of op(A) (origin <paramref name="a"/>, leading
    /// dimension lda) into MR-row panels [kc][MR]; rows past mc become zeros.
    /// </summary>
    public static void PackA(bool transA, float* a, int lda, int mc, int kc, int mr, float* dst)
    {
        for (int i0 = 0; i0 < mc; i0 += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - i0);
            if (transA)
            {
                // stored [k, m]: each depth step is a contiguous run of rows
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)p * lda + i0;
                    float* d = dst + p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = 0;
                }
            }
            else if (rows == 8 && mr == 8 && Avx.IsSupported)
            {
                // stored [m, k], a full 8-row panel: 8 x 8 register transposes
                int p = 0;
                for (; p + 8 <= kc; p += 8) Transpose8x8(a + (long)i0 * lda + p, lda, dst + p * 8, 8);
                for (; p < kc; p++)
                    for (int r = 0; r < 8; r++) dst[p * 8 + r] = a[(long)(i0 + r) * lda + p];
            }
            else
            {
                // stored [m, k]: read each row contiguously, write with stride MR
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (long)(i0 + r) * lda;
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++) d[p * mr] = src[p];
                }
                for (int r = rows; r < mr; r++)
                    for (int p = 0; p < kc; p++) dst[p * mr + r] = 0;
            }
        }
    }

    /// <summary>
    /// Packs columns [0, nc) and depth [0, kc) of op(B) (origin <paramref name="b"/>, leading
    /// dimension ldb) into NR-column panels [kc][NR]; columns past nc become zeros.
    /// </summary>
    public static void PackB(bool transB, float* b, int ldb, int nc, int kc, int nr, float* dst)
    {
        if (!transB)
        {
            // stored [k, n]: walk each depth row of the block once, left to right, and deal
            // its columns out to the panels. Reading whole row segments keeps the hardware
            // prefetcher streaming; panel by panel would touch 128 bytes per row, a new page
            // per step, when the block comes from DRAM (a large weight matrix at batch 64).
            int panels = (nc + nr - 1) / nr;
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)p * ldb;
                for (int jp = 0; jp < panels; jp++)
                {
                    int j0 = jp * nr, cols = Math.Min(nr, nc - j0);
                    float* d = dst + (long)jp * kc * nr + p * nr;
                    if (cols == nr)
                    {
                        new ReadOnlySpan<float>(src + j0, nr).CopyTo(new Span<float>(d, nr));
                        continue;
                    }
                    int j = 0;
                    for (; j < cols; j++) d[j] = src[j0 + j];
                    for (; j < nr; j++) d[j] = 0;
                }
            }
            return;
        }
        for (int j0 = 0; j0 < nc; j0 += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - j0);
            if (cols == nr && nr % 8 == 0 && Avx.IsSupported)
            {
                PackBTransposed8(b + (long)j0 * ldb, ldb, kc, nr, dst);
            }
            else
            {
                // stored [n, k]: read each column of op(B) (a row of B) contiguously
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + (long)(j0 + j) * ldb;
                    for (int p = 0; p < kc; p++) dst[p * nr + j] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) dst[p * nr + j] = 0;
            }
        }
    }

    /// <summary>
    /// Transposing pack of a full B panel (B stored [n, k]) with 8 x 8 register transposes:
    /// the forward pass of a fully connected layer packs its whole weight matrix this way,
    /// and a scalar gather costs as much as the multiply at batch 64.
    /// </summary>
    private static void PackBTransposed8(float* b, int ldb, int kc, int nr, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (int j = 0; j < nr; j += 8)
            {
                float* s = b + (long)j * ldb + p;
                Transpose8x8(s, ldb, dst + p * nr + j, nr);
            }
        }
        for (; p < kc; p++)
            for (int j = 0; j < nr; j++) dst[p * nr + j] = b[(long)j * ldb + p];
    }

    /// <summary>d[c * ldd + r] = s[r * lds + c] for an 8 x 8 block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, int lds, float* d, int ldd)
    {
        var r0 = Avx.LoadVector256(s);
        var r1 = Avx.LoadVector256(s + lds);
        var r2 = Avx.LoadVector256(s + 2 * (long)lds);
        var r3 = Avx.LoadVector256(s + 3 * (long)lds);
        var r4 = Avx.LoadVector256(s + 4 * (long)lds);
        var r5 = Avx.LoadVector256(s + 5 * (long)lds);
        var r6 = Avx.LoadVector256(s + 6 * (long)lds);
        var r7 = Avx.LoadVector256(s + 7 * (long)lds);

        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);

        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }
}
