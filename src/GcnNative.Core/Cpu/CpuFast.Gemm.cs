using System.Runtime.Intrinsics.X86;

namespace GcnNative.Cpu;

// The blocked GEMM (Goto / BLIS loop nest, row-major):
//   jc over n in NC columns      pack B[kc, nc] (mostly in L2)
//     pc over k in KC            first block applies beta, later blocks add (beta 1)
//       ic over m in MC rows     pack A[mc, kc]
//         ir over mc in MR       one A panel [kc][MR] stays in L1 ...
//           jr over nc in NR     ... while B panels stream from L2 through the kernel
// Threads split C into column (or row) stripes, each running the whole nest on its own
// buffers; that duplicates the packing of the shared operand, which is cheap next to the
// multiply, and keeps every sum in the same order whatever the thread count.
public sealed unsafe partial class CpuFast
{
    // KC x NR floats of B per kernel call (32 KiB) stream from L2; the [KC, NC] B block is
    // 1 MiB (the size of a Zen 4 L2), measured best for 1024^3 and the FC shapes.
    internal const int KcMax = 256, McMax = 192, NcMax = 1024;

    // the job of the parallel GEMM now running (set by GemmCore, read by GemmPart)
    private readonly ParallelBody _gemmBody;
    private bool _jTransA, _jTransB, _jSplitRows, _jInPlace;
    private int _jM, _jN, _jK, _jLda, _jLdb, _jLdc, _jChunk;
    private float _jAlpha, _jBeta;
    private float* _jA, _jB, _jC, _jPackedA;

    /// <summary>
    /// C[m, n] = alpha * op(A) * op(B) + beta * C, as <see cref="IBackend.Gemm"/> (beta = 0 ignores C).
    /// </summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, float[] b, float beta, float[] c)
    {
        fixed (float* pa = a, pb = b, pc = c)
            GemmCore(transA, transB, m, n, k, alpha, pa, transA ? m : k, pb, transB ? k : n, beta, pc, n,
                parallel: true, worker: 0);
    }

    /// <summary>
    /// GEMM on raw storage with leading dimensions. With <paramref name="parallel"/> false it
    /// runs on the calling worker with that worker's buffers (used inside parallel convolutions).
    /// </summary>
    /// <param name="packedA">
    /// Optional: op(A) already packed by <see cref="PackWholeA"/> (a convolution's weights, shared
    /// by all of its image groups); then <paramref name="a"/> is not read.
    /// </param>
    internal void GemmCore(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool parallel, int worker,
        float* packedA = null)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || alpha == 0)
        {
            ScaleRows(c, ldc, m, n, beta);
            return;
        }

        // decided on the whole product, not per stripe, so the summation order (and so every
        // bit of C) does not depend on the thread count
        bool inPlace = packedA == null && !transA && transB && m <= InPlaceMaxM && Kernel == GemmKernelKind.Avx512;
        int parts = parallel ? GemmParts(m, n, k) : 1;
        if (parts == 1)
        {
            GemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, _workspaces[worker], packedA, inPlace);
            return;
        }
        _jInPlace = inPlace;

        // split the longer side of C, in whole tiles
        _jSplitRows = packedA == null && ((m + Mr - 1) / Mr >= 2 * ((n + Nr - 1) / Nr) || n < 2 * Nr);
        _jPackedA = packedA;
        int align = _jSplitRows ? Mr : Nr, extent = _jSplitRows ? m : n;
        int tiles = (extent + align - 1) / align;
        _jChunk = (tiles + parts - 1) / parts * align;
        parts = (extent + _jChunk - 1) / _jChunk;
        (_jTransA, _jTransB, _jM, _jN, _jK, _jAlpha, _jBeta) = (transA, transB, m, n, k, alpha, beta);
        (_jLda, _jLdb, _jLdc) = (lda, ldb, ldc);
        _jA = a;
        _jB = b;
        _jC = c;
        _pool.Run(parts, _gemmBody);
    }

    /// <summary>How many stripes a GEMM is worth: one thread below ~2 MFLOP, where waking a worker costs more.</summary>
    private int GemmParts(int m, int n, int k)
    {
        double flops = 2.0 * m * n * k;
        if (Threads == 1 || flops < 2e6) return 1;
        int tiles = Math.Max((m + Mr - 1) / Mr, (n + Nr - 1) / Nr);
        return Math.Min(Threads, tiles);
    }

    private void GemmPart(int part, int worker)
    {
        int start = part * _jChunk;
        var ws = _workspaces[worker];
        if (_jSplitRows)
        {
            int rows = Math.Min(_jChunk, _jM - start);
            float* a = _jTransA ? _jA + start : _jA + (long)start * _jLda;
            GemmSerial(_jTransA, _jTransB, rows, _jN, _jK, _jAlpha, a, _jLda, _jB, _jLdb, _jBeta,
                _jC + (long)start * _jLdc, _jLdc, ws, null, _jInPlace);
        }
        else
        {
            int cols = Math.Min(_jChunk, _jN - start);
            float* b = _jTransB ? _jB + (long)start * _jLdb : _jB + start;
            GemmSerial(_jTransA, _jTransB, _jM, cols, _jK, _jAlpha, _jA, _jLda, b, _jLdb, _jBeta,
                _jC + start, _jLdc, ws, _jPackedA, _jInPlace);
        }
    }

    private void GemmSerial(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, Workspace ws, float* packedA = null,
        bool inPlace = false)
    {
        if (inPlace)
        {
            GemmWeightsInPlace(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ws);
            return;
        }
        if (packedA == null && m <= McMax && n >= 4 * Nr && Sse.IsSupported)
        {
            GemmStreamingB(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ws);
            return;
        }
        int mPadded = (m + Mr - 1) / Mr * Mr;
        // equal column blocks (in whole tiles) so no thin last block repacks A for little work
        int blocks = (n + NcMax - 1) / NcMax;
        int ncStep = ((n + blocks - 1) / blocks + Nr - 1) / Nr * Nr;
        for (int jc = 0; jc < n; jc += ncStep)
        {
            int nc = Math.Min(ncStep, n - jc);
            for (int pc = 0; pc < k; pc += KcMax)
            {
                int kc = Math.Min(KcMax, k - pc);
                float betaNow = pc == 0 ? beta : 1f;
                float* bOrigin = transB ? b + (long)jc * ldb + pc : b + (long)pc * ldb + jc;
                GemmKernels.PackB(transB, bOrigin, ldb, nc, kc, Nr, ws.PackB);

                for (int ic = 0; ic < m; ic += McMax)
                {
                    int mc = Math.Min(McMax, m - ic);
                    float* ap = ws.PackA;
                    if (packedA != null) ap = packedA + (long)pc * mPadded + (long)ic * kc;
                    else GemmKernels.PackA(transA, transA ? a + (long)pc * lda + ic : a + (long)ic * lda + pc,
                        lda, mc, kc, Mr, ap);
                    MacroKernel(mc, nc, kc, alpha, betaNow, c + (long)ic * ldc + jc, ldc, ap, ws);
                }
            }
        }
    }

    /// <summary>
    /// The loop nest for a short, wide C: a fully connected layer at batch 64 (m = 64) whose
    /// weight matrix B, tens of MB, comes from DRAM once per pass. Blocked as the general nest
    /// but with narrow column blocks (a [KC, StreamNc] block of B is 256 KiB), and while one
    /// block is multiplied the source of the next one is prefetched into L2, a slice per tile,
    /// so reading B overlaps the arithmetic instead of stalling the packing. The sums run in
    /// the same order as in the general nest.
    /// </summary>
    private void GemmStreamingB(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, Workspace ws)
    {
        bool avx512 = Kernel == GemmKernelKind.Avx512;
        int tilesM = (m + Mr - 1) / Mr;
        for (int jc = 0; jc < n; jc += StreamNc)
        {
            int nc = Math.Min(StreamNc, n - jc);
            for (int pc = 0; pc < k; pc += KcMax)
            {
                int kc = Math.Min(KcMax, k - pc);
                float betaNow = pc == 0 ? beta : 1f;
                float* bOrigin = transB ? b + (long)jc * ldb + pc : b + (long)pc * ldb + jc;
                GemmKernels.PackB(transB, bOrigin, ldb, nc, kc, Nr, ws.PackB);
                GemmKernels.PackA(transA, transA ? a + (long)pc * lda : a + pc, lda, m, kc, Mr, ws.PackA);

                // the next block: the next depth block, else the first of the next column block
                int np0 = pc + KcMax, nj0 = jc;
                if (np0 >= k) (np0, nj0) = (0, jc + StreamNc);
                bool prefetch = nj0 < n;
                int nkc = Math.Min(KcMax, k - np0), nnc = Math.Min(StreamNc, n - nj0);
                int tilesN = (nc + Nr - 1) / Nr, tiles = tilesM * tilesN;
                for (int ir = 0, t = 0; ir < m; ir += Mr)
                {
                    float* ap = ws.PackA + (long)ir * kc;
                    for (int jr = 0; jr < nc; jr += Nr, t++)
                    {
                        if (prefetch) PrefetchBlock(transB, b, ldb, np0, nkc, nj0, nnc, t, tiles);
                        Tile(avx512, Math.Min(Mr, m - ir), Math.Min(Nr, nc - jr), kc, alpha, betaNow, ap,
                            ws.PackB + (long)jr * kc, c + (long)ir * ldc + jc + jr, ldc, ws);
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[m, n] = A[m, k] . B[n, k]^T for a short A (m &lt;= 64, a batch) and a B stored
    /// [n, k] (a fully connected layer's forward pass, B its weights). Computed as
    /// C^T = B . A^T: the kernel reads 8 rows of B in place (no packing of the large operand,
    /// which costs a quarter of the time at batch 64), A^T is packed once per depth block, and
    /// each 8 x 32 tile of C^T is merged into C transposed. Depth blocks of
    /// <see cref="InPlaceKc"/> keep the 8 weight rows in L1 across both panels of A^T.
    /// </summary>
    private void GemmWeightsInPlace(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, Workspace ws)
    {
        const int mr = GemmKernels.Avx512Mr, nr = GemmKernels.Avx512Nr;
        int panels = (m + nr - 1) / nr;
        float* tile = ws.Tile;
        for (int pc = 0; pc < k; pc += InPlaceKc)
        {
            int kc = Math.Min(InPlaceKc, k - pc);
            float betaNow = pc == 0 ? beta : 1f;
            // A^T [kc, m] in NR-column panels: op(B) of the swapped product, A stored [m, k]
            GemmKernels.PackB(true, a + pc, lda, m, kc, nr, ws.PackB);
            for (int n0 = 0; n0 < n; n0 += mr)
            {
                int rows = Math.Min(mr, n - n0);
                // past the last row, repeat it: those sums are computed and dropped
                float* r0 = b + (long)n0 * ldb + pc;
                float* Row(int r) => r < rows ? r0 + (long)r * ldb : r0 + (long)(rows - 1) * ldb;
                for (int q = 0; q < panels; q++)
                {
                    int cols = Math.Min(nr, m - q * nr);
                    GemmKernels.Avx512TileRows(kc, Row(0), Row(1), Row(2), Row(3), Row(4), Row(5), Row(6), Row(7),
                        ws.PackB + (long)q * kc * nr, tile);
                    GemmKernels.MergeTransposed(tile, rows, cols, c + (long)q * nr * ldc + n0, ldc, alpha, betaNow);
                }
            }
        }
    }

    /// <summary>Depth block of <see cref="GemmWeightsInPlace"/>: 8 weight rows of 512 floats are 16 KiB.</summary>
    private const int InPlaceKc = 512;

    /// <summary>Largest m (batch) that <see cref="GemmWeightsInPlace"/> takes: two panels of A^T.</summary>
    private const int InPlaceMaxM = 2 * GemmKernels.Avx512Nr;

    /// <summary>Column block width of <see cref="GemmStreamingB"/>: a [KC, 256] block is 256 KiB.</summary>
    private const int StreamNc = 256;

    /// <summary>
    /// Prefetches into L2 part <paramref name="part"/> of <paramref name="parts"/> of op(B)'s
    /// block [depth p0, p0 + kc) x columns [j0, j0 + cols), split along its stored rows
    /// (each a contiguous run, so the hardware sees whole lines of pages in order).
    /// </summary>
    private static void PrefetchBlock(bool transB, float* b, int ldb, int p0, int kc, int j0, int cols, int part, int parts)
    {
        int rows = transB ? cols : kc, length = transB ? kc : cols;
        int from = (int)((long)rows * part / parts), to = (int)((long)rows * (part + 1) / parts);
        for (int r = from; r < to; r++)
        {
            float* row = transB ? b + (long)(j0 + r) * ldb + p0 : b + (long)(p0 + r) * ldb + j0;
            for (int i = 0; i < length; i += 16) Sse.Prefetch1(row + i);
            Sse.Prefetch1(row + length - 1);
        }
    }

    /// <summary>One MR x NR tile (rows x cols valid) of C at ct; an edge tile goes through ws.Tile.</summary>
    private static void Tile(bool avx512, int rows, int cols, int kc, float alpha, float beta, float* ap, float* bp,
        float* ct, int ldc, Workspace ws)
    {
        int mr = avx512 ? GemmKernels.Avx512Mr : GemmKernels.PortableMr;
        int nr = avx512 ? GemmKernels.Avx512Nr : GemmKernels.PortableNr;
        if (rows == mr && cols == nr)
        {
            if (avx512) GemmKernels.Avx512Tile(kc, ap, bp, ct, ldc, alpha, beta);
            else GemmKernels.PortableTile(kc, ap, bp, ct, ldc, alpha, beta);
            return;
        }
        if (avx512) GemmKernels.Avx512Tile(kc, ap, bp, ws.Tile, nr, alpha, 0f);
        else GemmKernels.PortableTile(kc, ap, bp, ws.Tile, nr, alpha, 0f);
        for (int r = 0; r < rows; r++)
        {
            float* src = ws.Tile + r * nr;
            float* dst = ct + (long)r * ldc;
            if (beta == 0) for (int j = 0; j < cols; j++) dst[j] = src[j];
            else for (int j = 0; j < cols; j++) dst[j] = src[j] + beta * dst[j];
        }
    }

    /// <summary>All tiles of one packed [mc, kc] x [kc, nc] block into C (origin c).</summary>
    private void MacroKernel(int mc, int nc, int kc, float alpha, float beta, float* c, int ldc, float* packA,
        Workspace ws)
    {
        bool avx512 = Kernel == GemmKernelKind.Avx512;
        for (int ir = 0; ir < mc; ir += Mr)
        {
            int rows = Math.Min(Mr, mc - ir);
            float* ap = packA + (long)ir * kc;
            for (int jr = 0; jr < nc; jr += Nr)
                Tile(avx512, rows, Math.Min(Nr, nc - jr), kc, alpha, beta, ap, ws.PackB + (long)jr * kc,
                    c + (long)ir * ldc + jr, ldc, ws);
        }
    }

    /// <summary>C = beta * C over m rows of n (beta = 0 writes zeros, even over NaN).</summary>
    private static void ScaleRows(float* c, int ldc, int m, int n, float beta)
    {
        if (beta == 1) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>Floats <see cref="PackWholeA"/> writes for an [m, k] op(A).</summary>
    internal long PackedASize(int m, int k) => (long)((m + Mr - 1) / Mr * Mr) * k;

    /// <summary>
    /// Packs all of op(A) [m, k] the way <see cref="GemmSerial"/> would, block by block: depth
    /// block pc starts at pc * mPadded and holds the MR-row panels of that block.
    /// </summary>
    internal void PackWholeA(bool transA, float* a, int lda, int m, int k, float* dst)
    {
        int mPadded = (m + Mr - 1) / Mr * Mr;
        for (int pc = 0; pc < k; pc += KcMax)
        {
            int kc = Math.Min(KcMax, k - pc);
            for (int ic = 0; ic < m; ic += McMax)
            {
                int mc = Math.Min(McMax, m - ic);
                float* origin = transA ? a + (long)pc * lda + ic : a + (long)ic * lda + pc;
                GemmKernels.PackA(transA, origin, lda, mc, kc, Mr, dst + (long)pc * mPadded + (long)ic * kc);
            }
        }
    }
}
