using GcnNative.Cpu;
using NUnit.Framework;

namespace GcnNative.Tests.Cpu;

/// <summary>
/// The fast CPU path against the reference, on shapes chosen to miss every tile and block
/// size (odd m, n, k; channels 1, 3, 5; strides, pads and kernels that leave ragged edges).
/// Tolerance: |fast - ref| &lt;= 1e-4 (1 + |ref|) sqrt(terms), since the fast path sums in float.
/// </summary>
[TestFixture]
public class FastPathTests
{
    private static readonly int[] Dims = [1, 3, 7, 13, 17, 33, 65, 129];

    private static IEnumerable<CpuFast> Paths()
    {
        yield return new CpuFast(2);
        yield return new CpuFast(1);
        yield return new CpuFast(2, GemmKernelKind.Portable);
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>Fails with the count, the worst pair and the first few mismatches.</summary>
    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double terms, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        double scale = 1e-4 * Math.Sqrt(Math.Max(1, terms));
        int bad = 0, worst = -1;
        double worstErr = 0;
        var first = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)actual[i] - expected[i]) / (1 + Math.Abs(expected[i]));
            bool ok = err <= scale || (float.IsNaN(expected[i]) && float.IsNaN(actual[i]));
            if (!ok)
            {
                bad++;
                if (first.Count < 5) first.Add($"[{i}] ref {expected[i]} fast {actual[i]}");
            }
            if (err > worstErr || double.IsNaN(err)) { worstErr = err; worst = i; }
        }
        Assert.That(bad, Is.Zero,
            $"{what}: {bad} of {expected.Length} differ; worst [{worst}] rel {worstErr:E2}; " + string.Join("; ", first));
    }

    // ---- GEMM -------------------------------------------------------------------

    [Test]
    public void GemmMatchesReferenceForAllTransposesOnOddShapes()
    {
        int seed = 0;
        foreach (var fast in Paths())
        using (fast)
        for (int t = 0; t < 4; t++)
        {
            bool ta = (t & 1) != 0, tb = (t & 2) != 0;
            foreach (int m in Dims)
            foreach (int n in Dims)
            {
                int k = Dims[(m + n + t) % Dims.Length] + (m == 129 ? 300 : 0); // k also crosses a depth block
                CheckGemm(fast, ta, tb, m, n, k, 1f, 0f, seed++);
            }
        }
    }

    [TestCase(1f, 1f)]
    [TestCase(0.5f, -2f)]
    [TestCase(-1.5f, 0.25f)]
    [TestCase(0f, 0.5f)]
    [TestCase(2f, 0f)]
    public void GemmAlphaBeta(float alpha, float beta)
    {
        using var fast = new CpuFast(2);
        foreach (var (m, n, k) in new[] { (13, 33, 17), (65, 129, 300), (7, 1, 65), (200, 70, 33) })
            for (int t = 0; t < 4; t++)
                CheckGemm(fast, (t & 1) != 0, (t & 2) != 0, m, n, k, alpha, beta, m * n + t);
    }

    /// <summary>
    /// The paths for a batch-sized m: weights read in place for A . B^T (m up to 64, tiles of
    /// C merged transposed, depth blocks of 2048); rows of B streamed for A . B (m up to 192,
    /// n of four panels or more); and, where k &gt;= 4 n, the depth split in halves summed at
    /// the end, with op(A) plain or transposed. Shapes fall on edges of every block size (8 x
    /// 32 tiles, 64-row blocks, 2048-column blocks, halves that are not whole blocks).
    /// </summary>
    [Test]
    public void GemmSmallBatchPathsMatchReference()
    {
        foreach (var fast in Paths())
        using (fast)
        {
            int seed = 7;
            foreach (int m in new[] { 1, 31, 33, 64 })
            foreach (var (n, k) in new[] { (8, 17), (13, 511), (300, 513), (1031, 40), (9, 1100), (40, 4200) })
            foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, -2f) })
                CheckGemm(fast, false, true, m, n, k, alpha, beta, seed++);
            foreach (int m in new[] { 1, 64, 100, 192 })
            foreach (var (n, k) in new[] { (128, 256), (300, 300), (777, 600) })
            foreach (var (alpha, beta) in new[] { (1f, 0f), (-1.5f, 0.25f) })
                CheckGemm(fast, false, false, m, n, k, alpha, beta, seed++);
            foreach (int m in new[] { 14, 37, 64, 192 })
            foreach (var (n, k) in new[] { (128, 600), (200, 1237), (1031, 4200) })
            foreach (var (ta, alpha, beta) in new[] { (false, 1f, 0f), (true, 0.5f, -2f) })
                CheckGemm(fast, ta, false, m, n, k, alpha, beta, seed++);
            CheckGemm(fast, false, false, 5, 2100, 8450, 1f, 0.5f, seed++);
        }
    }

    /// <summary>The loop nest is chosen for the whole product, so every thread count gives the same bits.</summary>
    [Test]
    public void GemmGivesTheSameBitsForEveryThreadCount()
    {
        using var one = new CpuFast(1);
        using var two = new CpuFast(2);
        using var three = new CpuFast(3);
        foreach (var (ta, tb, m, n, k) in new[] { (false, true, 100, 40, 700), (false, true, 64, 1031, 600),
                     (false, false, 64, 777, 300), (true, false, 130, 65, 257), (false, true, 33, 9, 1100),
                     (false, false, 64, 1024, 4100), (true, false, 50, 200, 1237), (false, false, 70, 300, 100) })
        {
            var a = Random(m * k, m);
            var b = Random(k * n, n);
            var c1 = new float[m * n];
            var c2 = new float[m * n];
            var c3 = new float[m * n];
            one.Gemm(ta, tb, m, n, k, 1f, a, b, 0f, c1);
            two.Gemm(ta, tb, m, n, k, 1f, a, b, 0f, c2);
            three.Gemm(ta, tb, m, n, k, 1f, a, b, 0f, c3);
            Assert.That(c2, Is.EqualTo(c1), $"2 threads, {m}x{n}x{k}");
            Assert.That(c3, Is.EqualTo(c1), $"3 threads, {m}x{n}x{k}");
        }
    }

    [Test]
    public void GemmBetaZeroIgnoresNaNInC()
    {
        using var fast = new CpuFast(2);
        foreach (var (tb, m, n, k) in new[] { (true, 9, 35, 5), (true, 64, 300, 40), (false, 37, 300, 100),
                     (false, 37, 130, 1300) })
        {
            var a = Random(m * k, 1);
            var b = Random(k * n, 2);
            var c = new float[m * n];
            Array.Fill(c, float.NaN);
            fast.Gemm(false, tb, m, n, k, 1f, a, b, 0f, c);
            var expected = new float[m * n];
            CpuReference.Gemm(false, tb, m, n, k, 1f, a, b, 0f, expected);
            AssertClose(expected, c, k, $"beta 0 over NaN {m}x{n}x{k}");
        }
    }

    [Test]
    public void GemmWithZeroDepthScalesC()
    {
        using var fast = new CpuFast(2);
        var c = new float[] { 1, 2, float.NaN, 4 };
        fast.Gemm(false, false, 2, 2, 0, 1f, [], [], 0f, c);
        Assert.That(c, Is.EqualTo(new float[] { 0, 0, 0, 0 }));
    }

    private static void CheckGemm(CpuFast fast, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int seed)
    {
        var a = Random(m * k, seed);
        var b = Random(k * n, seed + 1000);
        var c = Random(m * n, seed + 2000);
        var expected = (float[])c.Clone();
        CpuReference.Gemm(ta, tb, m, n, k, alpha, a, b, beta, expected);
        fast.Gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
        AssertClose(expected, c, k, $"gemm {(ta ? "T" : "N")}{(tb ? "T" : "N")} m{m} n{n} k{k} a{alpha} b{beta} {fast.Kernel}x{fast.Threads}");
    }

    // ---- convolution ----------------------------------------------------------------

    private static IEnumerable<ConvGeometry> ConvShapes()
    {
        int i = 0;
        foreach (int cin in new[] { 1, 3, 5 })
        foreach (int size in new[] { 1, 3, 7, 13 })
        foreach (int kernel in new[] { 1, 2, 3, 4, 5 })
        foreach (int stride in new[] { 1, 2 })
        foreach (int pad in new[] { 0, 1, 2 })
        {
            if (pad >= kernel || size + 2 * pad < kernel) continue;
            if (i++ % 3 != 0) continue; // a third of the grid keeps the test fast; the rotation still covers each value
            int cout = new[] { 1, 3, 5, 33 }[i % 4];
            int batch = new[] { 1, 2, 5 }[i % 3];
            yield return ConvGeometry.Create(batch, cin, size, size, cout, kernel, stride, pad);
        }
        // real layer shapes, small batch: grouped images and the deconvolutions
        yield return ConvGeometry.Create(3, 64, 6, 6, 40, 3, 1, 1);
        yield return ConvGeometry.Create(3, 7, 13, 13, 19, 5, 1, 2);
        yield return ConvGeometry.ForTransposed(2, 20, 7, 7, 9, 4, 2, 1);
        yield return ConvGeometry.ForTransposed(2, 9, 19, 19, 5, 5, 2, 1);
        yield return ConvGeometry.ForTransposed(3, 11, 8, 8, 3, 2, 2, 0);
    }

    /// <summary>
    /// Rows wider than one 16-lane piece (the AVX-512 im2col / col2im move rows in masked
    /// pieces), stride 2 with padding on either side, a stride with no vector path, and
    /// rectangular images.
    /// </summary>
    private static IEnumerable<ConvGeometry> WideRowShapes()
    {
        yield return ConvGeometry.Create(2, 3, 9, 40, 5, 3, 1, 1);       // 40 wide: 3 pieces, the last partial
        yield return ConvGeometry.Create(1, 2, 5, 32, 3, 5, 1, 2);       // exactly 2 pieces
        yield return ConvGeometry.Create(2, 2, 11, 37, 3, 4, 2, 1);      // stride 2, 18 wide
        yield return ConvGeometry.Create(1, 2, 6, 71, 3, 3, 2, 0);       // stride 2, 35 wide, no padding
        yield return ConvGeometry.Create(1, 2, 5, 24, 3, 4, 2, 1);       // stride 2, right padding read by output 11
        yield return ConvGeometry.Create(2, 3, 4, 56, 2, 4, 2, 1);       // the same at output 27, in the second piece
        yield return ConvGeometry.Create(1, 2, 7, 70, 3, 5, 3, 2);       // stride 3: the scalar path
        yield return ConvGeometry.ForTransposed(2, 5, 9, 21, 4, 5, 2, 1);  // deconvolution to 43 wide
        yield return ConvGeometry.ForTransposed(1, 6, 20, 20, 3, 2, 2, 0); // face-uconv9's kind, 40 wide
    }

    [Test]
    public void ConvolutionsMatchReference()
    {
        using var fast = new CpuFast(2);
        using var single = new CpuFast(1, GemmKernelKind.Portable);
        int seed = 0;
        foreach (var g in ConvShapes())
        {
            CheckConvolution(seed % 2 == 0 ? fast : single, g, seed);
            seed += 4;
        }
    }

    [Test]
    public void ConvolutionsMatchReferenceOnWideRows()
    {
        using var fast = new CpuFast(2);
        using var single = new CpuFast(1, GemmKernelKind.Portable);
        int seed = 500;
        foreach (var g in WideRowShapes())
        foreach (var path in new[] { fast, single })
        {
            CheckConvolution(path, g, seed);
            seed += 4;
        }
    }

    private static void CheckConvolution(CpuFast path, in ConvGeometry g, int seed)
    {
        var x = Random(Tensor.CountOf(g.XShape), seed++);
        var w = Random(Tensor.CountOf(g.WShape), seed++);
        var dy = Random(Tensor.CountOf(g.YShape), seed++);
        double terms = g.InChannels * g.KernelH * g.KernelW;
        string name = $"{g} on {path.Kernel}x{path.Threads}";

        var y = new float[dy.Length];
        var yRef = new float[dy.Length];
        Array.Fill(y, float.NaN);
        path.ConvForward(g, x, w, y);
        CpuReference.ConvForward(g, x, w, yRef);
        AssertClose(yRef, y, terms, $"forward {name}");

        var dx = new float[x.Length];
        var dxRef = new float[x.Length];
        Array.Fill(dx, float.NaN);
        path.ConvBackwardData(g, dy, w, dx);
        CpuReference.ConvBackwardData(g, dy, w, dxRef);
        AssertClose(dxRef, dx, g.OutChannels * g.KernelH * g.KernelW, $"backward data {name}");

        foreach (bool accumulate in new[] { false, true })
        {
            var dw = Random(w.Length, seed);
            var dwRef = (float[])dw.Clone();
            if (!accumulate) Array.Fill(dw, float.NaN);
            path.ConvBackwardFilter(g, x, dy, dw, accumulate);
            CpuReference.ConvBackwardFilter(g, x, dy, dwRef, accumulate);
            AssertClose(dwRef, dw, g.Batch * g.OutHeight * g.OutWidth, $"backward filter acc={accumulate} {name}");
        }
    }

    // ---- elementwise --------------------------------------------------------------

    private static readonly int[] Lengths = [1, 7, 16, 33, 1000, 70_001];

    [Test]
    public void LeakyReluMatchesReference()
    {
        using var fast = new CpuFast(2);
        foreach (int n in Lengths)
        {
            var x = Random(n, n);
            var dy = Random(n, n + 1);
            var y = new float[n];
            var yRef = new float[n];
            fast.LeakyReluForward(x, y, 0.2f);
            CpuReference.LeakyReluForward(x, yRef, 0.2f);
            Assert.That(y, Is.EqualTo(yRef), $"forward n={n}");

            var dx = new float[n];
            var dxRef = new float[n];
            fast.LeakyReluBackward(x, dy, dx, 0.2f);
            CpuReference.LeakyReluBackward(x, dy, dxRef, 0.2f);
            Assert.That(dx, Is.EqualTo(dxRef), $"backward n={n}");

            fast.LeakyReluForward(x, x, 0.1f); // in place
            CpuReference.LeakyReluForward(Random(n, n), yRef, 0.1f);
            Assert.That(x, Is.EqualTo(yRef), $"in place n={n}");
        }
    }

    [Test]
    public void BiasAddAndGradientMatchReference()
    {
        using var fast = new CpuFast(2);
        foreach (var (outer, channels, inner) in new[] { (1, 1, 1), (3, 5, 7), (64, 33, 1), (64, 64, 784), (2, 3, 17) })
        {
            int n = outer * channels * inner;
            var y = Random(n, n);
            var yRef = (float[])y.Clone();
            var bias = Random(channels, 3);
            fast.AddBias(y, bias, outer, channels, inner);
            CpuReference.AddBias(yRef, bias, outer, channels, inner);
            Assert.That(y, Is.EqualTo(yRef), $"add bias {outer}x{channels}x{inner}");

            foreach (bool accumulate in new[] { false, true })
            {
                var db = Random(channels, 4);
                var dbRef = (float[])db.Clone();
                fast.BiasGradient(y, db, outer, channels, inner, accumulate);
                CpuReference.BiasGradient(y, dbRef, outer, channels, inner, accumulate);
                AssertClose(dbRef, db, outer * inner, $"bias gradient {outer}x{channels}x{inner} acc={accumulate}");
            }
        }
    }

    [Test]
    public void MaxPoolMatchesReferenceAndRoutesToFirstMaximum()
    {
        using var fast = new CpuFast(2);
        foreach (var g in new[] { PoolGeometry.Create(2, 3, 13, 13, 3, 2), PoolGeometry.Create(64, 64, 28, 28, 3, 2),
                     PoolGeometry.Create(1, 5, 7, 9, 2, 2), PoolGeometry.Create(3, 2, 6, 6, 3, 1),
                     PoolGeometry.Create(2, 3, 37, 41, 3, 2), PoolGeometry.Create(1, 2, 5, 9000, 3, 2) })   // last: buffers on the heap
        {
            var x = Random(Tensor.CountOf(g.XShape), 5);
            for (int i = 0; i < x.Length; i += 3) x[i] = 0.5f; // ties: the first maximum must win
            x[1] = float.NaN;                                  // skipped by the max, as in the reference
            x[g.InWidth + 4] = float.NaN;
            var y = new float[Tensor.CountOf(g.YShape)];
            var yRef = new float[y.Length];
            fast.MaxPoolForward(g, x, y);
            CpuReference.MaxPoolForward(g, x, yRef);
            Assert.That(y, Is.EqualTo(yRef), $"forward {g}");

            var dy = Random(y.Length, 6);
            var dx = Random(x.Length, 7);
            var dxRef = new float[x.Length];
            fast.MaxPoolBackward(g, x, y, dy, dx);
            CpuReference.MaxPoolBackward(g, x, yRef, dy, dxRef);
            Assert.That(dx, Is.EqualTo(dxRef), $"backward {g}");
        }
    }

    [TestCase(5, 1e-4f, 0.75f, 2f)]
    [TestCase(3, 0.01f, 0.5f, 1f)]
    [TestCase(4, 0.1f, 0.75f, 1f)]
    public void LrnMatchesReference(int size, float alpha, float beta, float k)
    {
        using var fast = new CpuFast(2);
        var p = new LrnParams(size, alpha, beta, k);
        foreach (var (batch, channels, plane) in new[] { (2, 7, 13), (3, 1, 9), (64, 16, 49), (1, 5, 1) })
        {
            int n = batch * channels * plane;
            var x = Random(n, 8);
            for (int i = 0; i < n; i++) x[i] *= 3;
            var (y, s, yRef, sRef) = (new float[n], new float[n], new float[n], new float[n]);
            fast.LrnForward(p, batch, channels, plane, x, y, s);
            CpuReference.LrnForward(p, batch, channels, plane, x, yRef, sRef);
            AssertClose(sRef, s, size, $"lrn scale {batch}x{channels}x{plane}");
            AssertClose(yRef, y, size, $"lrn forward {batch}x{channels}x{plane}");

            var dy = Random(n, 9);
            var (dx, dxRef) = (new float[n], new float[n]);
            fast.LrnBackward(p, batch, channels, plane, x, yRef, sRef, dy, dx);
            CpuReference.LrnBackward(p, batch, channels, plane, x, yRef, sRef, dy, dxRef);
            AssertClose(dxRef, dx, size, $"lrn backward {batch}x{channels}x{plane}");
        }
    }

    [Test]
    public void AdamMatchesReference()
    {
        using var fast = new CpuFast(2);
        foreach (int n in Lengths)
        foreach (int step in new[] { 1, 2, 100 })
        {
            var param = Random(n, 10);
            var grad = Random(n, 11);
            var m = Random(n, 12);
            var v = Random(n, 13);
            for (int i = 0; i < n; i++) v[i] = Math.Abs(v[i]);
            var (pRef, mRef, vRef) = ((float[])param.Clone(), (float[])m.Clone(), (float[])v.Clone());
            var s = new AdamStep(1e-3f, 0.9f, 0.999f, 1e-8f, step, 5e-4f);
            fast.AdamUpdate(param, grad, m, v, s);
            CpuReference.AdamUpdate(pRef, grad, mRef, vRef, s);
            AssertClose(mRef, m, 1, $"adam m n={n} t={step}");
            AssertClose(vRef, v, 1, $"adam v n={n} t={step}");
            AssertClose(pRef, param, 1, $"adam param n={n} t={step}");
        }
    }

    [Test]
    public void AxpyAndDropoutBackwardMatchPlainLoops()
    {
        using var fast = new CpuFast(2);
        foreach (int n in Lengths)
        {
            var x = Random(n, 14);
            var y = Random(n, 15);
            var expected = new float[n];
            for (int i = 0; i < n; i++) expected[i] = y[i] + 0.3f * x[i];
            fast.Axpy(0.3f, x, y);
            AssertClose(expected, y, 1, $"axpy n={n}");

            var dx = new float[n];
            for (int i = 0; i < n; i++) expected[i] = x[i] * y[i];
            fast.DropoutBackward(x, y, dx);
            Assert.That(dx, Is.EqualTo(expected), $"dropout backward n={n}");
        }
    }

    [Test]
    public void BackendRunsFastPathThroughTensors()
    {
        using var fast = new CpuBackend(CpuPath.Fast, 2);
        using var reference = new CpuBackend(CpuPath.Reference);
        var g = ConvGeometry.ForTransposed(2, 8, 5, 5, 3, 4, 2, 1);
        var dy = Random(Tensor.CountOf(g.YShape), 16);
        var w = Random(Tensor.CountOf(g.WShape), 17);
        float[] Run(IBackend b)
        {
            using var tdy = b.Allocate(g.YShape);
            using var tw = b.Allocate(g.WShape);
            using var tdx = b.Allocate(g.XShape);
            b.Upload(tdy, dy);
            b.Upload(tw, w);
            b.ConvBackwardData(g, tdy, tw, tdx);
            return tdx.ToArray();
        }
        AssertClose(Run(reference), Run(fast), 8 * 16, "transposed convolution through CpuBackend");
    }
}
