using System.Globalization;
using GcnNative.Cpu;

namespace GcnNative.Verify;

/// <summary>
/// How close a candidate value c must be to a reference value r:
/// |c - r| &lt;= <see cref="Rel"/> |r| + <see cref="AbsOfMax"/> max|ref| (max over the whole output).
/// Both zero means bit-for-bit equality (NaN equals NaN, +0 equals -0).
/// The max|ref| term keeps entries that cancel to almost nothing from failing on
/// round-off that is small against the size of the output.
/// </summary>
public readonly record struct Tolerance(double Rel, double AbsOfMax)
{
    public static readonly Tolerance Exact = new(0, 0);

    public bool IsExact => Rel == 0 && AbsOfMax == 0;

    public override string ToString() =>
        IsExact ? "exact" : string.Create(CultureInfo.InvariantCulture, $"{Rel:0.#E+0}r+{AbsOfMax:0.#E+0}m");
}

/// <summary>The outcome of one operation on one shape.</summary>
public readonly record struct VerifyResult(
    string Op, string Shape, double MaxAbsError, double MaxRelError, string Tolerance, bool Passed, string? Error);

/// <summary>Settings of a <see cref="BackendVerifier"/> run.</summary>
public sealed record VerifierSettings
{
    /// <summary>Seed of every random input (each case derives its own from it).</summary>
    public int Seed { get; init; } = 20261204;

    /// <summary>
    /// Loosen GEMM and convolution tolerances to what TF32 tensor-core math gives
    /// (10-bit mantissa inputs, about 1e-3 relative).
    /// </summary>
    public bool Tf32 { get; init; }

    /// <summary>Only run cases whose op name contains this text (null: all).</summary>
    public string? Filter { get; init; }

    /// <summary>How many mismatching elements to print for a failing case.</summary>
    public int MismatchesToShow { get; init; } = 4;
}

/// <summary>
/// Runs every <see cref="IBackend"/> operation on a reference backend and a candidate backend
/// with identical random inputs from a fixed seed, over shapes chosen to catch indexing bugs
/// (sizes 1, 3, 7, 13, 158; batch 1 and 64; channel counts that are not multiples of 32),
/// and compares the outputs element by element. One fixed-width line per case:
/// op, shape, max abs error, max rel error, tolerance, PASS/FAIL; failures also print the first
/// mismatching elements. Exceptions thrown by either backend fail the case and are reported.
/// <para>
/// The max rel error is max |c - r| / |r| over elements with |r| &gt;= 1e-3 max|ref|, so
/// that near-zero entries do not swamp it; pass or fail is decided by the <see cref="Tolerance"/>.
/// </para>
/// </summary>
public sealed class BackendVerifier
{
    // why these tolerances: elementwise ops are written so both backends do the same
    // float operations in the same order (bitwise equal expected, a little slack allowed);
    // reductions accumulate in double on both sides but in a different order; GEMM and
    // convolution accumulate in float on a device against double in the reference; LRN and
    // the softmax use hardware approximations of exp/log/pow on a device.
    private static readonly Tolerance Elementwise = new(1e-6, 1e-7);
    private static readonly Tolerance Reduction = new(1e-5, 1e-6);
    private static readonly Tolerance Transcendental = new(1e-4, 1e-5);
    private static readonly Tolerance Matmul = new(1e-4, 1e-5);
    private static readonly Tolerance MatmulTf32 = new(1e-2, 1e-2);

    private readonly IBackend _reference;
    private readonly IBackend _candidate;
    private readonly TextWriter _log;
    private readonly VerifierSettings _settings;
    private readonly List<VerifyResult> _results = [];
    private int _caseIndex;

    public BackendVerifier(IBackend reference, IBackend candidate, TextWriter log, VerifierSettings? settings = null)
    {
        _reference = reference ?? throw new ArgumentNullException(nameof(reference));
        _candidate = candidate ?? throw new ArgumentNullException(nameof(candidate));
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _settings = settings ?? new VerifierSettings();
    }

    /// <summary>Every case run so far, in order.</summary>
    public IReadOnlyList<VerifyResult> Results => _results;

    private Tolerance MatmulTolerance => _settings.Tf32 ? MatmulTf32 : Matmul;

    /// <summary>Runs all cases; true when every one passed.</summary>
    public bool RunAll()
    {
        _log.WriteLine($"verify: reference {_reference.Name} ({_reference.Description})");
        _log.WriteLine($"verify: candidate {_candidate.Name} ({_candidate.Description})");
        _log.WriteLine($"verify: seed {_settings.Seed}, tf32 tolerances {(_settings.Tf32 ? "on" : "off")};"
                       + " tolerance = rel r + abs m * max|ref|");
        VerifyMemory();
        VerifyGemm();
        VerifyBias();
        VerifyAxpyAndCopyColumns();
        VerifyConvolution();
        VerifyLeakyRelu();
        VerifyMaxPool();
        VerifyLrn();
        VerifyDropout();
        VerifyWeightedLoss();
        VerifyAdam();
        int failed = _results.Count(r => !r.Passed);
        _log.WriteLine(failed == 0
            ? $"verify: all {_results.Count} cases passed"
            : $"verify: {failed} of {_results.Count} cases FAILED");
        return failed == 0;
    }

    /// <summary>
    /// Trains with both backends through <paramref name="train"/> (which builds a model on the
    /// backend it is given, runs N iterations from the same seed and returns the loss of each
    /// iteration) and compares the two loss curves: iteration i passes when
    /// |candidate - reference| &lt;= relTolerance * max(|reference|, 1e-6).
    /// Prints the first iterations, every tenth of the run, and the worst one. True when all pass.
    /// </summary>
    public static bool ParityRun(IBackend reference, IBackend candidate, Func<IBackend, float[]> train,
        double relTolerance, TextWriter log)
    {
        float[] a = train(reference);
        float[] b = train(candidate);
        if (a.Length != b.Length)
        {
            log.WriteLine($"parity: FAIL: {reference.Name} ran {a.Length} iterations, {candidate.Name} ran {b.Length}");
            return false;
        }

        int worst = -1, failures = 0;
        double worstRel = 0;
        int every = Math.Max(1, a.Length / 10);
        for (int i = 0; i < a.Length; i++)
        {
            double rel = RelativeDifference(a[i], b[i]);
            bool ok = rel <= relTolerance;
            if (!ok) failures++;
            if (rel > worstRel || double.IsNaN(rel)) { worstRel = rel; worst = i; }
            if (i < 3 || i % every == 0 || i == a.Length - 1 || (!ok && failures <= 5))
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parity: iter {i,6}  {reference.Name} {a[i],12:G7}  {candidate.Name} {b[i],12:G7}"
                                        + $"  rel {rel,9:E2}  {(ok ? "ok" : "FAIL")}"));
        }

        if (worst >= 0)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parity: worst iteration {worst}: rel {worstRel:E2} (tolerance {relTolerance:E1})"));
        log.WriteLine(failures == 0
            ? $"parity: PASS over {a.Length} iterations"
            : $"parity: FAIL at {failures} of {a.Length} iterations");
        return failures == 0;
    }

    private static double RelativeDifference(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b)) return float.IsNaN(a) && float.IsNaN(b) ? 0 : double.NaN;
        return Math.Abs((double)a - b) / Math.Max(Math.Abs((double)a), 1e-6);
    }

    // ---- the cases ----------------------------------------------------------------

    private void VerifyMemory()
    {
        float[] a = RandomArray(7 * 13, -1, 1);
        float[] chunk = RandomArray(13, -5, 5);
        Case("upload/download", "[7, 13] + chunk@50, read@3", Tolerance.Exact, b =>
        {
            using var t = b.Allocate(7, 13);
            b.Upload(t, a);
            b.Upload(t, chunk, 50);
            var part = new float[20];
            b.Download(t, part, 3);
            return [("all", t.ToArray()), ("part", part)];
        });

        Case("allocate (zeroed)", "[158, 3]", Tolerance.Exact, b =>
        {
            using var t = b.Allocate(158, 3);
            return [("t", t.ToArray())];
        });

        foreach (int n in new[] { 1, 158 * 13 })
        {
            float[] x = RandomArray(n, -1, 1);
            Case("fill", $"[{n}]", Tolerance.Exact, b =>
            {
                using var t = Up(b, x, n);
                b.Fill(t, -2.5f);
                return [("t", t.ToArray())];
            });
            Case("copy", $"[{n}]", Tolerance.Exact, b =>
            {
                using var s = Up(b, x, n);
                using var d = b.Allocate(n);
                b.Copy(s, d);
                return [("dst", d.ToArray())];
            });
        }
    }

    private void VerifyGemm()
    {
        int[][] shapes = [[1, 1, 1], [3, 7, 13], [13, 158, 7], [64, 158, 13], [158, 64, 129], [7, 1, 158]];
        foreach (var s in shapes)
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
            GemmCase(s[0], s[1], s[2], ta, tb, 1f, 0f);
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
            GemmCase(64, 158, 13, ta, tb, 0.5f, 1.5f);
    }

    private void GemmCase(int m, int n, int k, bool ta, bool tb, float alpha, float beta)
    {
        float[] a = RandomArray(m * k, -1, 1);
        float[] bm = RandomArray(k * n, -1, 1);
        // beta = 0 must ignore C entirely, even NaN
        float[] c = beta == 0 ? Enumerable.Repeat(float.NaN, m * n).ToArray() : RandomArray(m * n, -1, 1);
        string shape = $"m{m} n{n} k{k} {(ta ? "T" : "N")}{(tb ? "T" : "N")} a{alpha} b{beta}";
        Case("gemm", shape, MatmulTolerance, b =>
        {
            using var ta_ = Up(b, a, ta ? [k, m] : [m, k]);
            using var tb_ = Up(b, bm, tb ? [n, k] : [k, n]);
            using var tc = Up(b, c, m, n);
            b.Gemm(ta, tb, m, n, k, alpha, ta_, tb_, beta, tc);
            return [("c", tc.ToArray())];
        });
    }

    private void VerifyBias()
    {
        int[][] shapes = [[1, 1, 1], [64, 3, 169], [1, 158, 7], [64, 13, 1], [3, 37, 49]];
        foreach (var s in shapes)
        {
            int outer = s[0], channels = s[1], inner = s[2], n = outer * channels * inner;
            float[] y = RandomArray(n, -1, 1);
            float[] bias = RandomArray(channels, -1, 1);
            string shape = $"outer {outer} channels {channels} inner {inner}";
            Case("add_bias", shape, Elementwise, b =>
            {
                using var ty = Up(b, y, n);
                using var tbias = Up(b, bias, channels);
                b.AddBias(ty, tbias, outer, channels, inner);
                return [("y", ty.ToArray())];
            });
            foreach (bool acc in new[] { false, true })
            {
                Case("bias_gradient", shape + (acc ? " accumulate" : ""), Reduction, b =>
                {
                    using var ty = Up(b, y, n);
                    using var tdb = Up(b, bias, channels);
                    b.BiasGradient(ty, tdb, outer, channels, inner, acc);
                    return [("dBias", tdb.ToArray())];
                });
            }
        }
    }

    private void VerifyAxpyAndCopyColumns()
    {
        foreach (int n in new[] { 1, 7, 158 * 13, 64 * 13 * 13 })
        {
            float[] x = RandomArray(n, -1, 1);
            float[] y = RandomArray(n, -1, 1);
            Case("axpy", $"[{n}] alpha -0.75", Elementwise, b =>
            {
                using var tx = Up(b, x, n);
                using var ty = Up(b, y, n);
                b.Axpy(-0.75f, tx, ty);
                return [("y", ty.ToArray())];
            });
        }

        // rows, cols, src stride, src offset, dst stride, dst offset
        int[][] layouts = [[1, 1, 1, 0, 3, 2], [64, 13, 158, 145, 20, 7], [64, 158, 158, 0, 171, 13], [3, 7, 13, 3, 7, 0]];
        foreach (var l in layouts)
        foreach (bool acc in new[] { false, true })
        {
            int rows = l[0], cols = l[1], ss = l[2], so = l[3], ds = l[4], dO = l[5];
            float[] src = RandomArray(rows * ss, -1, 1);
            float[] dst = RandomArray(rows * ds, -1, 1);
            string shape = $"rows {rows} cols {cols} src {ss}@{so} dst {ds}@{dO}{(acc ? " accumulate" : "")}";
            Case("copy_columns", shape, acc ? Elementwise : Tolerance.Exact, b =>
            {
                using var ts = Up(b, src, rows, ss);
                using var td = Up(b, dst, rows, ds);
                b.CopyColumns(ts, ss, so, td, ds, dO, rows, cols, acc);
                return [("dst", td.ToArray())];
            });
        }
    }

    private void VerifyConvolution()
    {
        var geometries = new (string Kind, ConvGeometry G)[]
        {
            ("conv", ConvGeometry.Create(1, 1, 7, 7, 3, kernel: 3, stride: 1, pad: 0)),
            ("conv", ConvGeometry.Create(64, 3, 13, 13, 13, kernel: 3, stride: 2, pad: 1)),
            ("conv", ConvGeometry.Create(3, 7, 13, 13, 5, kernel: 5, stride: 1, pad: 2)),
            ("conv", ConvGeometry.Create(2, 37, 7, 7, 45, kernel: 3, stride: 1, pad: 1)),
            ("conv", ConvGeometry.Create(1, 158, 1, 1, 7, kernel: 1, stride: 1, pad: 0)),
            ("conv", ConvGeometry.Create(64, 1, 28, 28, 20, kernel: 5, stride: 1, pad: 0)),
            ("deconv", ConvGeometry.ForTransposed(2, 13, 7, 7, 3, kernel: 4, stride: 2, pad: 1)),
            ("deconv", ConvGeometry.ForTransposed(64, 7, 3, 3, 1, kernel: 4, stride: 2, pad: 1)),
        };
        foreach (var (kind, g) in geometries)
        {
            float[] x = RandomArray(Tensor.CountOf(g.XShape), -1, 1);
            float[] w = RandomArray(Tensor.CountOf(g.WShape), -1, 1);
            float[] dy = RandomArray(Tensor.CountOf(g.YShape), -1, 1);
            float[] dw0 = RandomArray(Tensor.CountOf(g.WShape), -1, 1);
            string shape = Describe(g);
            bool deconv = kind == "deconv";

            Case(deconv ? "deconv input-grad (conv fwd)" : "conv_forward", shape, MatmulTolerance, b =>
            {
                using var tx = Up(b, x, g.XShape);
                using var tw = Up(b, w, g.WShape);
                using var ty = b.Allocate(g.YShape);
                b.ConvForward(g, tx, tw, ty);
                return [("y", ty.ToArray())];
            });
            Case(deconv ? "deconv forward (conv bwd-data)" : "conv_backward_data", shape, MatmulTolerance, b =>
            {
                using var tdy = Up(b, dy, g.YShape);
                using var tw = Up(b, w, g.WShape);
                using var tdx = Up(b, x, g.XShape); // overwritten
                b.ConvBackwardData(g, tdy, tw, tdx);
                return [("dx", tdx.ToArray())];
            });
            foreach (bool acc in new[] { false, true })
            {
                string op = deconv ? "deconv weight-grad (conv bwd-filter)" : "conv_backward_filter";
                Case(op, shape + (acc ? " accumulate" : ""), MatmulTolerance, b =>
                {
                    using var tx = Up(b, x, g.XShape);
                    using var tdy = Up(b, dy, g.YShape);
                    using var tdw = Up(b, dw0, g.WShape);
                    b.ConvBackwardFilter(g, tx, tdy, tdw, acc);
                    return [("dw", tdw.ToArray())];
                });
            }
        }
    }

    private void VerifyLeakyRelu()
    {
        foreach (int n in new[] { 1, 13, 64 * 158 })
        {
            float[] x = RandomArray(n, -2, 2);
            for (int i = 0; i < n; i += 5) x[i] = 0; // the kink: x = 0 takes the slope branch
            float[] dy = RandomArray(n, -1, 1);
            Case("leaky_relu_forward", $"[{n}] slope 0.2", Elementwise, b =>
            {
                using var tx = Up(b, x, n);
                using var ty = b.Allocate(n);
                b.LeakyReluForward(tx, ty, 0.2f);
                return [("y", ty.ToArray())];
            });
            Case("leaky_relu_forward", $"[{n}] slope 0.2 in place", Elementwise, b =>
            {
                using var tx = Up(b, x, n);
                b.LeakyReluForward(tx, tx, 0.2f);
                return [("y", tx.ToArray())];
            });
            Case("leaky_relu_backward", $"[{n}] slope 0.2", Elementwise, b =>
            {
                using var tx = Up(b, x, n);
                using var tdy = Up(b, dy, n);
                using var tdx = b.Allocate(n);
                b.LeakyReluBackward(tx, tdy, tdx, 0.2f);
                return [("dx", tdx.ToArray())];
            });
        }
    }

    private void VerifyMaxPool()
    {
        var geometries = new[]
        {
            PoolGeometry.Create(1, 1, 3, 3, kernel: 3, stride: 2),
            PoolGeometry.Create(64, 3, 13, 13, kernel: 3, stride: 2),
            PoolGeometry.Create(2, 7, 28, 28, kernel: 3, stride: 2),
            PoolGeometry.Create(1, 13, 7, 7, kernel: 2, stride: 2),
            PoolGeometry.Create(3, 5, 8, 8, kernel: 3, stride: 1),
        };
        foreach (var g in geometries)
        {
            int nx = Tensor.CountOf(g.XShape), ny = Tensor.CountOf(g.YShape);
            // quarter steps in [-2, 2]: many ties, so the first-maximum routing is exercised
            float[] x = RandomArray(nx, -2, 2).Select(v => MathF.Round(v * 4) / 4).ToArray();
            float[] dy = RandomArray(ny, -1, 1);
            float[] y = new float[ny];
            CpuReference.MaxPoolForward(g, x, y);
            string shape = $"{Tensor.ShapeString(g.XShape)} k{g.Kernel} s{g.Stride} -> {g.OutHeight}x{g.OutWidth}";
            Case("max_pool_forward", shape, Tolerance.Exact, b =>
            {
                using var tx = Up(b, x, g.XShape);
                using var ty = b.Allocate(g.YShape);
                b.MaxPoolForward(g, tx, ty);
                return [("y", ty.ToArray())];
            });
            Case("max_pool_backward", shape + " ties", Elementwise, b =>
            {
                using var tx = Up(b, x, g.XShape);
                using var ty = Up(b, y, g.YShape);
                using var tdy = Up(b, dy, g.YShape);
                using var tdx = Up(b, x, g.XShape); // overwritten
                b.MaxPoolBackward(g, tx, ty, tdy, tdx);
                return [("dx", tdx.ToArray())];
            });
        }
    }

    private void VerifyLrn()
    {
        var cases = new (LrnParams P, int[] Shape)[]
        {
            (new LrnParams(5, 1e-4f, 0.75f, 2f), [1, 1, 1, 1]),
            (new LrnParams(5, 0.5f, 0.75f, 2f), [64, 7, 13, 13]),
            (new LrnParams(4, 0.3f, 0.75f, 1f), [2, 37, 3, 3]),
            (new LrnParams(1, 1f, 0.5f, 1f), [3, 13, 7, 1]),
            (new LrnParams(3, 1e-4f, 0.75f, 1f), [2, 5, 7, 7]),
        };
        foreach (var (p, shape) in cases)
        {
            int n = Tensor.CountOf(shape), plane = shape[2] * shape[3];
            float[] x = RandomArray(n, -3, 3);
            float[] dy = RandomArray(n, -1, 1);
            float[] y = new float[n], scale = new float[n];
            CpuReference.LrnForward(p, shape[0], shape[1], plane, x, y, scale);
            string desc = $"{Tensor.ShapeString(shape)} size {p.Size} alpha {p.Alpha} beta {p.Beta} k {p.K}";
            Case("lrn_forward", desc, Transcendental, b =>
            {
                using var tx = Up(b, x, shape);
                using var ty = b.Allocate(shape);
                using var ts = b.Allocate(shape);
                b.LrnForward(p, tx, ty, ts);
                return [("y", ty.ToArray()), ("scale", ts.ToArray())];
            });
            Case("lrn_backward", desc, Transcendental, b =>
            {
                using var tx = Up(b, x, shape);
                using var ty = Up(b, y, shape);
                using var ts = Up(b, scale, shape);
                using var tdy = Up(b, dy, shape);
                using var tdx = b.Allocate(shape);
                b.LrnBackward(p, tx, ty, ts, tdy, tdx);
                return [("dx", tdx.ToArray())];
            });
        }
    }

    private void VerifyDropout()
    {
        foreach (int n in new[] { 1, 13, 64 * 158 + 7 })
        foreach (float p in new[] { 0f, 0.5f, 0.3f, 1f })
        foreach (ulong seed in new[] { 7UL, 0x123456789ABCDEF0UL })
        {
            float[] x = RandomArray(n, -1, 1);
            Case("dropout_forward", $"[{n}] p {p} seed 0x{seed:X}", Tolerance.Exact, b =>
            {
                using var tx = Up(b, x, n);
                using var ty = b.Allocate(n);
                using var tm = b.Allocate(n);
                b.DropoutForward(tx, ty, tm, p, seed);
                return [("y", ty.ToArray()), ("mask", tm.ToArray())];
            });
        }

        {
            int n = 64 * 158 + 7;
            float[] dy = RandomArray(n, -1, 1);
            float[] mask = RandomArray(n, 0, 1).Select(v => v < 0.5f ? 0f : 2f).ToArray();
            Case("dropout_backward", $"[{n}]", Tolerance.Exact, b =>
            {
                using var tdy = Up(b, dy, n);
                using var tm = Up(b, mask, n);
                using var tdx = b.Allocate(n);
                b.DropoutBackward(tdy, tm, tdx);
                return [("dx", tdx.ToArray())];
            });
        }
    }

    private void VerifyWeightedLoss()
    {
        // the MNIST shape: one 10-way head plus the Euclidean image term, logits up to +-80
        LossCase("mnist-like", batch: 64, totalClasses: 10, labelColumns: 1,
            [new LossHead(0, 10, 0, 1f)], classScale: 1f, logitScale: 80f,
            imageShape: [64, 1, 28, 28], pixelScale: 0.5f, wantDLogits: true, wantDPrediction: true);
        // the face shape: several heads of odd sizes, one of a single class, large logits
        LossCase("faces-like", batch: 64, totalClasses: 171, labelColumns: 4,
            [new LossHead(0, 9, 0, 1f), new LossHead(9, 3, 1, 0.5f), new LossHead(12, 1, 2, 0.25f),
             new LossHead(13, 158, 3, 2f)], classScale: 0.7f, logitScale: 80f,
            imageShape: [64, 3, 13, 13], pixelScale: 2f, wantDLogits: true, wantDPrediction: true);
        LossCase("classes only", batch: 1, totalClasses: 20, labelColumns: 2,
            [new LossHead(0, 7, 1, 1f), new LossHead(7, 13, 0, 0.3f)], classScale: 1f, logitScale: 3f,
            imageShape: null, pixelScale: 0f, wantDLogits: true, wantDPrediction: false);
        LossCase("no gradients", batch: 3, totalClasses: 13, labelColumns: 1,
            [new LossHead(0, 13, 0, 1f)], classScale: 1f, logitScale: 1f,
            imageShape: [3, 1, 7, 7], pixelScale: 1f, wantDLogits: false, wantDPrediction: false);
    }

    private void LossCase(string name, int batch, int totalClasses, int labelColumns, LossHead[] heads,
        float classScale, float logitScale, int[]? imageShape, float pixelScale, bool wantDLogits, bool wantDPrediction)
    {
        float[] logits = RandomArray(batch * totalClasses, -1, 1).Select(v => v * logitScale).ToArray();
        var rng = new Random(_settings.Seed + 7919 * _caseIndex);
        float[] labels = new float[batch * labelColumns];
        foreach (var h in heads)
            for (int n = 0; n < batch; n++)
                labels[n * labelColumns + h.LabelColumn] = rng.Next(h.Classes);
        int imageLength = imageShape is null ? 0 : Tensor.CountOf(imageShape);
        float[] prediction = RandomArray(imageLength, -1, 1);
        float[] target = RandomArray(imageLength, -1, 1);
        int terms = 2 * heads.Length + 2;
        string shape = $"{name}: batch {batch}, {heads.Length} heads of {string.Join("/", heads.Select(h => h.Classes))}"
                       + (imageShape is null ? "" : $", image {Tensor.ShapeString(imageShape)}")
                       + $", logits x{logitScale}";

        Case("weighted_loss", shape, Transcendental, b =>
        {
            using var tl = Up(b, logits, batch, totalClasses);
            using var tlab = Up(b, labels, batch, labelColumns);
            using var tdl = wantDLogits ? b.Allocate(batch, totalClasses) : null;
            using var tp = imageShape is null ? null : Up(b, prediction, imageShape);
            using var tt = imageShape is null ? null : Up(b, target, imageShape);
            using var tdp = wantDPrediction && imageShape is not null ? b.Allocate(imageShape) : null;
            using var terms_ = b.Allocate(terms);
            b.WeightedLoss(tl, tlab, heads, classScale, tdl, tp, tt, pixelScale, tdp, terms_);
            var outputs = new List<(string, float[])> { ("lossTerms", terms_.ToArray()) };
            if (tdl is not null) outputs.Add(("dLogits", tdl.ToArray()));
            if (tdp is not null) outputs.Add(("dPrediction", tdp.ToArray()));
            return outputs.ToArray();
        });
    }

    private void VerifyAdam()
    {
        foreach (int n in new[] { 1, 7, 158 * 13 })
        {
            float[] param = RandomArray(n, -1, 1);
            float[] grads = RandomArray(3 * n, -0.1f, 0.1f);
            Case("adam_update", $"[{n}] steps 1-3, wd 0", Elementwise, b =>
            {
                using var tp = Up(b, param, n);
                using var tm = b.Allocate(n);
                using var tv = b.Allocate(n);
                using var tg = b.Allocate(n);
                for (int t = 1; t <= 3; t++)
                {
                    b.Upload(tg, grads.AsSpan((t - 1) * n, n));
                    b.AdamUpdate(tp, tg, tm, tv, new AdamStep(2e-4f, 0.5f, 0.999f, 1e-8f, t, 0f));
                }
                return [("param", tp.ToArray()), ("m", tm.ToArray()), ("v", tv.ToArray())];
            });

            float[] m0 = RandomArray(n, -0.01f, 0.01f);
            float[] v0 = RandomArray(n, 0, 1e-4f);
            Case("adam_update", $"[{n}] step 1000, wd 5e-4", Elementwise, b =>
            {
                using var tp = Up(b, param, n);
                using var tm = Up(b, m0, n);
                using var tv = Up(b, v0, n);
                using var tg = Up(b, grads.AsSpan(0, n).ToArray(), n);
                b.AdamUpdate(tp, tg, tm, tv, new AdamStep(1e-3f, 0.9f, 0.999f, 1e-8f, 1000, 5e-4f));
                return [("param", tp.ToArray()), ("m", tm.ToArray()), ("v", tv.ToArray())];
            });
        }
    }

    // ---- the machinery ------------------------------------------------------------

    /// <summary>
    /// Runs <paramref name="run"/> on both backends (it allocates, uploads, runs the op and
    /// downloads the named outputs), compares every output and prints one line.
    /// </summary>
    private void Case(string op, string shape, Tolerance tolerance, Func<IBackend, (string Name, float[] Data)[]> run)
    {
        _caseIndex++;
        if (_settings.Filter is not null && !op.Contains(_settings.Filter, StringComparison.OrdinalIgnoreCase))
            return;

        (string, float[])[] expected, actual;
        try { expected = run(_reference); }
        catch (Exception e) { Report(op, shape, tolerance, double.NaN, double.NaN, false, $"reference threw: {Oneline(e)}"); return; }
        try { actual = run(_candidate); }
        catch (Exception e) { Report(op, shape, tolerance, double.NaN, double.NaN, false, $"{_candidate.Name} threw: {Oneline(e)}"); return; }

        double maxAbs = 0, maxRel = 0;
        bool passed = true;
        var details = new List<string>();
        for (int o = 0; o < expected.Length; o++)
        {
            var (name, r) = expected[o];
            var c = actual[o].Item2;
            if (r.Length != c.Length)
            {
                passed = false;
                details.Add($"{name}: length {c.Length}, expected {r.Length}");
                continue;
            }
            var cmp = Compare(r, c, tolerance, _settings.MismatchesToShow);
            maxAbs = Math.Max(maxAbs, cmp.MaxAbs);
            maxRel = Math.Max(maxRel, cmp.MaxRel);
            if (cmp.Failures > 0)
            {
                passed = false;
                details.Add($"{name}: {cmp.Failures} of {r.Length} outside tolerance (max|ref| {cmp.MaxRef:G4})");
                details.AddRange(cmp.Mismatches.Select(s => $"  {name}{s}"));
            }
        }
        Report(op, shape, tolerance, maxAbs, maxRel, passed, null);
        foreach (var d in details) _log.WriteLine($"      {d}");
    }

    private void Report(string op, string shape, Tolerance tolerance, double maxAbs, double maxRel, bool passed,
        string? error)
    {
        _results.Add(new VerifyResult(op, shape, maxAbs, maxRel, tolerance.ToString(), passed, error));
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(passed ? "PASS" : "FAIL")}  {op,-36} {shape,-64} abs {maxAbs,9:E2}  rel {maxRel,9:E2}  tol {tolerance}"));
        if (error is not null) _log.WriteLine($"      {error}");
    }

    private readonly record struct Comparison(double MaxAbs, double MaxRel, double MaxRef, int Failures, List<string> Mismatches);

    private static Comparison Compare(float[] r, float[] c, Tolerance tol, int show)
    {
        double maxRef = 0;
        foreach (float v in r)
            if (float.IsFinite(v)) maxRef = Math.Max(maxRef, Math.Abs(v));

        double maxAbs = 0, maxRel = 0;
        int failures = 0;
        var mismatches = new List<string>();
        double relFloor = 1e-3 * maxRef;
        for (int i = 0; i < r.Length; i++)
        {
            bool ok;
            double d;
            if (float.IsNaN(r[i]) || float.IsNaN(c[i]))
            {
                ok = float.IsNaN(r[i]) && float.IsNaN(c[i]);
                d = ok ? 0 : double.PositiveInfinity;
            }
            else if (float.IsInfinity(r[i]) || float.IsInfinity(c[i]))
            {
                ok = r[i] == c[i];
                d = ok ? 0 : double.PositiveInfinity;
            }
            else
            {
                d = Math.Abs((double)c[i] - r[i]);
                ok = tol.IsExact ? r[i] == c[i] : d <= tol.Rel * Math.Abs(r[i]) + tol.AbsOfMax * maxRef;
                if (Math.Abs(r[i]) >= relFloor && r[i] != 0) maxRel = Math.Max(maxRel, d / Math.Abs(r[i]));
            }
            maxAbs = Math.Max(maxAbs, d);
            if (!ok)
            {
                failures++;
                if (mismatches.Count < show)
                    mismatches.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]: expected {r[i]:G9}, got {c[i]:G9}"));
            }
        }
        return new Comparison(maxAbs, maxRel, maxRef, failures, mismatches);
    }

    private float[] RandomArray(int n, float lo, float hi)
    {
        // a fresh stream per call, derived from the seed and the call order, so that adding a
        // case changes only the inputs of the cases after it
        var rng = new Random(unchecked(_settings.Seed * 31 + _randomCalls++));
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)rng.NextDouble();
        return a;
    }

    private int _randomCalls;

    private static Tensor Up(IBackend b, float[] data, params int[] shape)
    {
        var t = b.Allocate(shape);
        b.Upload(t, data);
        return t;
    }

    private static string Describe(in ConvGeometry g) =>
        $"{Tensor.ShapeString(g.XShape)}->{Tensor.ShapeString(g.YShape)} k{g.KernelH} s{g.StrideH} p{g.PadH}";

    private static string Oneline(Exception e) => $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" | ")}";

}
