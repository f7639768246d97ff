using System.Numerics;
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
    private bool _jTransA, _jTransB, _jSplitRows;
    private Nest _jNest;
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
        bool avx512 = Kernel == GemmKernelKind.Avx512;
        var nest = Nest.Blocked;
        if (packedA == null && !transA && transB && m <= InPlaceMaxM && avx512) nest = Nest.WeightsInPlace;
        else if (packedA == null && !transB && m <= McMax && n >= 4 * Nr && avx512 && parallel) nest = Nest.RowStream;
        if (nest == Nest.RowStream && k >= 4 * n && 2.0 * m * n * k >= 2e6)
        {
            GemmSplitDepth(transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, worker);
            return;
        }
        int parts = parallel ? GemmParts(m, n, k) : 1;
        if (parts == 1)
        {
            GemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, _workspaces[worker], packedA, nest);
            return;
        }
        _jNest = nest;

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

    /// <summary>The loop nest a GEMM runs, chosen once for the whole product.</summary>
    private enum Nest
    {
        /// <summary>The packed nest (<see cref="GemmStreamingB"/> for a short, wide C).</summary>
        Blocked,

        /// <summary><see cref="GemmWeightsInPlace"/>: A . B^T with a short A.</summary>
        WeightsInPlace,

        /// <summary><see cref="GemmDepthStream"/>: a short A times a large row-major B.</summary>
        RowStream,
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
                _jC + (long)start * _jLdc, _jLdc, ws, null, _jNest);
        }
        else
        {
            int cols = Math.Min(_jChunk, _jN - start);
            float* b = _jTransB ? _jB + (long)start * _jLdb : _jB + start;
            GemmSerial(_jTransA, _jTransB, _jM, cols, _jK, _jAlpha, _jA, _jLda, b, _jLdb, _jBeta,
                _jC + start, _jLdc, ws, _jPackedA, _jNest);
        }
    }

    private void GemmSerial(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, Workspace ws, float* packedA = null,
        Nest nest = Nest.Blocked)
    {
        if (nest == Nest.WeightsInPlace)
        {
            GemmWeightsInPlace(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ws);
            return;
        }
        if (nest == Nest.RowStream)
        {
            GemmDepthStream(transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ws);
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
    /// C = alpha * op(A) . B + beta * C for a short A (m &lt;= McMax, a batch) and a tall,
    /// row-major B [k, n] with k &gt;= 4 n: a fully connected layer's backward-data pass, B its
    /// weights (51 MB for the MNIST generator's first layer), read from DRAM once per pass.
    /// The depth is cut in two halves and each thread streams whole rows of its half of B,
    /// which the hardware prefetcher follows; splitting the columns instead makes every thread
    /// read short pieces of every row, at half the bandwidth. The first half sums into C, the
    /// second into a scratch matrix added to C at the end. The halves (and column stripes
    /// where there are more than two threads) are fixed by the shape, so C has the same bits
    /// for any thread count; one thread runs the parts in turn.
    /// </summary>
    private void GemmSplitDepth(bool transA, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, int worker)
    {
        float* scratch = _depthScratch.Ensure((long)m * n);
        int stripes = Math.Max(1, Threads / 2);
        int tiles = (n + Nr - 1) / Nr;
        _dStripe = (tiles + stripes - 1) / stripes * Nr;
        _dStripes = (n + _dStripe - 1) / _dStripe;
        _dHalf = Math.Max(DepthKc, k / 2 / DepthKc * DepthKc);
        (_jTransA, _jM, _jN, _jK, _jAlpha, _jBeta) = (transA, m, n, k, alpha, beta);
        (_jLda, _jLdb, _jLdc) = (lda, ldb, ldc);
        _jA = a;
        _jB = b;
        _jC = c;
        _dScratch = scratch;
        if (Threads > 1) _pool.Run(2 * _dStripes, _depthBody);
        else for (int part = 0; part < 2 * _dStripes; part++) DepthPart(part, worker);

        for (int i = 0; i < m; i++)
        {
            float* dst = c + (long)i * ldc, src = scratch + (long)i * n;
            int j = 0;
            for (; j + Vector<float>.Count <= n; j += Vector<float>.Count)
                Vector.Store(Vector.Load(dst + j) + Vector.Load(src + j), dst + j);
            for (; j < n; j++) dst[j] += src[j];
        }
    }

    /// <summary>Part = half * stripes + stripe of <see cref="GemmSplitDepth"/>.</summary>
    private void DepthPart(int part, int worker)
    {
        int half = part / _dStripes, j0 = part % _dStripes * _dStripe, cols = Math.Min(_dStripe, _jN - j0);
        int p0 = half == 0 ? 0 : _dHalf, depth = half == 0 ? _dHalf : _jK - _dHalf;
        float* a = _jTransA ? _jA + (long)p0 * _jLda : _jA + p0;
        float* b = _jB + (long)p0 * _jLdb + j0;
        if (half == 0) GemmDepthStream(_jTransA, _jM, cols, depth, _jAlpha, a, _jLda, b, _jLdb, _jBeta, _jC + j0, _jLdc, _workspaces[worker]);
        else GemmDepthStream(_jTransA, _jM, cols, depth, _jAlpha, a, _jLda, b, _jLdb, 0f, _dScratch + j0, _jN, _workspaces[worker]);
    }

    /// <summary>
    /// A short A times a large row-major B, on one thread (a part of <see cref="GemmSplitDepth"/>,
    /// or a column stripe): per block of <see cref="DepthKc"/> rows of B (up to
    /// <see cref="DepthNc"/> columns wide), the rows are copied whole
    /// into a buffer whose rows are 64 bytes longer than a multiple of 4 KiB (so a 32-column
    /// panel of it does not fall into one L1 set), then multiplied panel by panel with the
    /// 8 x 32 kernel reading the copy in place. The kernel prefetches the next block a few
    /// lines per tile, so the copy finds it in L2.
    /// </summary>
    private void GemmDepthStream(bool transA, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, Workspace ws)
    {
        const int mr = GemmKernels.Avx512Mr, nr = GemmKernels.Avx512Nr;
        int tilesM = (m + mr - 1) / mr;
        for (int jc = 0; jc < n; jc += DepthNc)
        {
            int nc = Math.Min(DepthNc, n - jc);
            int ncPad = (nc + nr - 1) / nr * nr, ldp = ncPad + 16;
            int tiles = tilesM * (ncPad / nr);
            for (int pc = 0; pc < k; pc += DepthKc)
            {
                int kc = Math.Min(DepthKc, k - pc);
                float betaNow = pc == 0 ? beta : 1f;
                CopyRows(b + (long)pc * ldb + jc, ldb, kc, nc, ncPad, ws.PackB, ldp);
                GemmKernels.PackA(transA, transA ? a + (long)pc * lda : a + pc, lda, m, kc, mr, ws.PackA);

                // the next block: the next depth block, else the first of the next column block
                int np0 = pc + DepthKc, nj0 = jc;
                if (np0 >= k) (np0, nj0) = (0, jc + DepthNc);
                int nkc = nj0 < n ? Math.Min(DepthKc, k - np0) : 0, nnc = nj0 < n ? Math.Min(DepthNc, n - nj0) : 0;
                int linesPerRow = (nnc + 15) / 16;
                long lines = (long)nkc * linesPerRow;
                for (int jr = 0, t = 0; jr < nc; jr += nr)
                {
                    for (int ir = 0; ir < m; ir += mr, t++)
                    {
                        long l0 = lines * t / tiles, count = lines * (t + 1) / tiles - l0;
                        float* pf = count > 0 ? b + (np0 + l0 / linesPerRow) * ldb + nj0 : null;
                        int pfCol = count > 0 ? (int)(l0 % linesPerRow) * 16 : 0;
                        int mask = count * 4 <= kc ? 3 : count * 2 <= kc ? 1 : 0;
                        int rows = Math.Min(mr, m - ir), cols = Math.Min(nr, nc - jr);
                        float* ap = ws.PackA + (long)ir * kc, bp = ws.PackB + jr, ct = c + (long)ir * ldc + jc + jr;
                        bool full = rows == mr && cols == nr;
                        GemmKernels.Avx512Tile(kc, ap, bp, full ? ct : ws.Tile, full ? ldc : nr, alpha, full ? betaNow : 0f,
                            ldp, pf, ldb, nnc, pfCol, (int)count, mask);
                        if (!full) MergeTile(ws.Tile, nr, rows, cols, ct, ldc, betaNow);
                    }
                }
            }
        }
    }

    /// <summary>Rows [kc, nc] of a row-major matrix into dst (row stride ldp), zeros in columns nc..ncPad.</summary>
    private static void CopyRows(float* src, int lds, int kc, int nc, int ncPad, float* dst, int ldp)
    {
        for (int p = 0; p < kc; p++)
        {
            float* s = src + (long)p * lds, d = dst + (long)p * ldp;
            int j = 0;
            for (; j + Vector<float>.Count <= nc; j += Vector<float>.Count) Vector.Store(Vector.Load(s + j), d + j);
            for (; j < nc; j++) d[j] = s[j];
            for (; j < ncPad; j++) d[j] = 0;
        }
    }

    /// <summary>
    /// Block of <see cref="GemmDepthStream"/>: 64 rows of B by up to 2048 columns (512 KiB),
    /// measured best for the MNIST (1024 columns) and faces (2048) backward-data passes. Its
    /// copy, rows padded by 16 floats, fits the workspace's PackB.
    /// </summary>
    private const int DepthKc = 64, DepthNc = 2048;

    // the job of the split-depth GEMM now running (with the _j fields above)
    private readonly ParallelBody _depthBody;
    private readonly AlignedBuffer _depthScratch = new();
    private int _dStripes, _dStripe, _dHalf;
    private float* _dScratch;

    /// <summary>
    /// C[m, n] = A[m, k] . B[n, k]^T for a short A (m &lt;= 64, a batch) and a B stored
    /// [n, k] (a fully connected layer's forward pass, B its weights). Computed as
    /// C^T = B . A^T: the kernel reads 8 rows of B in place (no packing of the large operand,
    /// which costs a quarter of the time at batch 64), A^T is packed once per depth block, and
    /// each 8 x 32 tile of C^T is merged into C transposed. Long depth blocks
    /// (<see cref="InPlaceKc"/>) give the hardware prefetcher long runs of each weight row.
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

    /// <summary>
    /// Depth block of <see cref="GemmWeightsInPlace"/>: 2048 floats, 8 KiB of each weight row.
    /// On Zen 5, for the MNIST (1024 -> 12544) and faces (2048 -> 16384) forward passes,
    /// 2048 measured about 78 % of peak (median of 30 calls) against about 65 % at 512 and
    /// 50 % at 256: the rows come from DRAM, and short pieces of them leave the prefetcher
    /// restarting every page.
    /// </summary>
    private const int InPlaceKc = 2048;

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
        MergeTile(ws.Tile, nr, rows, cols, ct, ldc, beta);
    }

    /// <summary>ct[r, j] = tile[r, j] + beta * ct[r, j] over rows x cols (beta = 0 never reads ct).</summary>
    private static void MergeTile(float* tile, int ldt, int rows, int cols, float* ct, int ldc, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            float* src = tile + r * ldt;
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
