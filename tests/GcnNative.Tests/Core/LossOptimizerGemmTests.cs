using GcnNative.Cpu;
using GcnNative.Model;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>The fused loss, Adam, the learning-rate schedule and GEMM against hand-derived values.</summary>
[TestFixture]
public class LossOptimizerGemmTests
{
    // ---- fused weighted loss ------------------------------------------------------

    // batch 2, head 0 with 2 classes (weight 1), head 1 with 3 classes (weight 0.5):
    //   row 0: head 0 logits (0, ln 3)     -> p = (1/4, 3/4), label 1
    //          head 1 logits (0, 0, 0)     -> p = (1/3, 1/3, 1/3), label 2
    //   row 1: head 0 logits (1000, -1000) -> p = (1, 0), label 1 (CE = 2000, must stay finite)
    //          head 1 logits (ln 2, 0, 0)  -> p = (1/2, 1/4, 1/4), label 0
    private static readonly float[] Logits =
        [0, (float)Math.Log(3), 0, 0, 0, 1000, -1000, (float)Math.Log(2), 0, 0];

    private static readonly float[] Labels = [1, 2, 1, 0];
    private static readonly LossHead[] Heads = [new(0, 2, 0, 1f), new(2, 3, 1, 0.5f)];

    [Test]
    public void WeightedLossHandValues()
    {
        using var b = T.Reference();
        var logits = T.Make(b, [2, 5], Logits);
        var labels = T.Make(b, [2, 2], Labels);
        var dLogits = b.Allocate(2, 5);
        // prediction - target = d = (1, 0, -2, -1, -1, -1): sum d^2 = 8, E = 8 / (2 * 2) = 2
        var prediction = T.Make(b, [2, 1, 1, 3], 1, 2, 3, 0, 0, 0);
        var target = T.Make(b, [2, 1, 1, 3], 0, 2, 5, 1, 1, 1);
        var dPrediction = b.Allocate(2, 1, 1, 3);
        var terms = b.Allocate(6);
        b.Fill(terms, float.NaN);

        b.WeightedLoss(logits, labels, Heads, classScale: 10f, dLogits, prediction, target,
            pixelScale: 0.5f, dPrediction, terms);

        // CE_0 = (-ln 3/4 + 2000) / 2 = 1000.143841; CE_1 = (ln 3 + ln 2) / 2 = 0.895879735
        // total = 10 (1 * CE_0 + 0.5 * CE_1) + 0.5 * E = 10006.917809
        // correct: head 0 row 0 (argmax 1 = label), head 1 row 1 (argmax 0 = label); head 1 row 0
        // ties (argmax = first = 0, label 2) -> one correct per head
        var t = terms.ToArray();
        Assert.That(t.All(float.IsFinite), "every term finite with logits of +-1000");
        T.AssertValues(t, new double[] { 1000.143841, 0.895879735, 2, 10006.917809, 1, 1 }, 1e-6, "lossTerms");

        // dLogits = classScale w_f (p - onehot) / N:
        //   row 0: 5 (1/4, -1/4) = (1.25, -1.25); 2.5 (1/3, 1/3, -2/3) = (0.8333, 0.8333, -1.6667)
        //   row 1: 5 (1, -1) = (5, -5);          2.5 (-1/2, 1/4, 1/4) = (-1.25, 0.625, 0.625)
        T.AssertValues(dLogits.ToArray(),
            new double[] { 1.25, -1.25, 2.5 / 3, 2.5 / 3, -5.0 / 3, 5, -5, -1.25, 0.625, 0.625 }, 1e-6, "dLogits");

        // dPrediction = pixelScale d / N = 0.25 d
        T.AssertValues(dPrediction.ToArray(), new double[] { 0.25, 0, -0.5, -0.25, -0.25, -0.25 }, 1e-6, "dPrediction");
    }

    [Test]
    public void WeightedLossWithoutPredictionHasZeroPixelTermAndOptionalGradients()
    {
        using var b = T.Reference();
        var logits = T.Make(b, [2, 5], Logits);
        var labels = T.Make(b, [2, 2], Labels);
        var terms = b.Allocate(6);
        b.Fill(terms, 123f);
        b.WeightedLoss(logits, labels, Heads, 1f, null, null, null, 0f, null, terms);
        // total = 1 * CE_0 + 0.5 * CE_1 = 1000.143841 + 0.447939867
        T.AssertValues(terms.ToArray(), new double[] { 1000.143841, 0.895879735, 0, 1000.591781, 1, 1 }, 1e-6);
    }

    [Test]
    public void WeightedLossLargeEqualLogitsGiveLn2()
    {
        // (1000, 1000) and (-1000, -1000): softmax (1/2, 1/2) both times, CE = ln 2, gradient +-1/4
        using var b = T.Reference();
        var logits = T.Make(b, [2, 2], 1000, 1000, -1000, -1000);
        var labels = T.Make(b, [2, 1], 0, 1);
        var d = b.Allocate(2, 2);
        var terms = b.Allocate(4);
        b.WeightedLoss(logits, labels, [new LossHead(0, 2, 0, 1f)], 1f, d, null, null, 0f, null, terms);
        T.AssertValues(terms.ToArray(), new double[] { Math.Log(2), 0, Math.Log(2), 1 }, 1e-6);
        T.AssertValues(d.ToArray(), new double[] { -0.25, 0.25, 0.25, -0.25 }, 1e-6);
    }

    [Test]
    public void WeightedLossWithNoHeadsIsThePixelTermOnly()
    {
        // the generator's warm-up: lossTerms = (E, total) with total = pixelScale E
        using var b = T.Reference();
        var logits = b.Allocate(1, 2);
        var labels = b.Allocate(1, 1);
        var prediction = T.Make(b, [1, 4], 1, 1, 1, 1);
        var target = T.Make(b, [1, 4], 0, 0, 0, 3);
        var dPrediction = b.Allocate(1, 4);
        var terms = b.Allocate(2);
        b.WeightedLoss(logits, labels, [], 5f, null, prediction, target, 2f, dPrediction, terms);
        // d = (1, 1, 1, -2): sum d^2 = 7, E = 7 / 2 = 3.5, total = 7; dPrediction = 2 d / 1
        T.AssertValues(terms.ToArray(), new double[] { 3.5, 7 }, 1e-6);
        T.AssertValues(dPrediction.ToArray(), new double[] { 2, 2, 2, -4 }, 1e-6);
    }

    // ---- Adam -----------------------------------------------------------------------

    // Adam with bias correction, L2 decay folded into the gradient, eps outside the root:
    //   g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
    //   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    private static float[] RunAdam(CpuPath path, float[] p0, float[][] grads, float lr, float wd,
        out float[] m, out float[] v)
    {
        using var b = T.Backend(path);
        var p = T.Make(b, [p0.Length], p0);
        var g = b.Allocate(p0.Length);
        var mt = b.Allocate(p0.Length);
        var vt = b.Allocate(p0.Length);
        for (int t = 1; t <= grads.Length; t++)
        {
            b.Upload(g, grads[t - 1]);
            b.AdamUpdate(p, g, mt, vt, new AdamStep(lr, 0.9f, 0.999f, 1e-8f, t, wd));
        }
        m = mt.ToArray();
        v = vt.ToArray();
        return p.ToArray();
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void AdamThreeStepsByHand(CpuPath path)
    {
        // lr 0.1, p0 = 1, gradients 0.5, -1, 2:
        // t1: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25 -> p = 1 - 0.1 * 0.5 / 0.5 = 0.9
        // t2: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975;
        //     m^ = -0.055 / 0.19 = -0.289474, v^ = 0.00124975 / 0.001999 = 0.625188, sqrt = 0.790688
        //     p = 0.9 + 0.1 * 0.289474 / 0.790688 = 0.936610
        // t3: m = -0.0495 + 0.2 = 0.1505, v = 0.00124850 + 0.004 = 0.00524850;
        //     m^ = 0.1505 / 0.271 = 0.555351, v^ = 0.0052485 / 0.002997001 = 1.751251, sqrt = 1.323349
        //     p = 0.936610 - 0.1 * 0.555351 / 1.323349 = 0.894645
        // a second element with zero gradients never moves (0 / (0 + eps) = 0)
        var p = RunAdam(path, [1f, 2f], [[0.5f, 0f], [-1f, 0f], [2f, 0f]], 0.1f, 0f, out var m, out var v);
        T.AssertValues(p, new double[] { 0.894644793, 2 }, 1e-6, "p");
        T.AssertValues(m, new double[] { 0.1505, 0 }, 1e-6, "m");
        T.AssertValues(v, new double[] { 0.00524850025, 0 }, 1e-6, "v");
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void AdamWithWeightDecayByHand(CpuPath path)
    {
        // lr 0.1, wd 0.1, p0 = 1, g = 0.5 each step:
        // t1: g' = 0.6; m = 0.06, v = 0.00036; m^ = 0.6, v^ = 0.36 -> p = 1 - 0.1 = 0.9
        // t2: g' = 0.5 + 0.09 = 0.59; m = 0.054 + 0.059 = 0.113, v = 0.00035964 + 0.0003481 = 0.00070774
        //     m^ = 0.594737, v^ = 0.354047, sqrt = 0.595018 -> p = 0.9 - 0.099953 = 0.800047
        // t3: g' = 0.5 + 0.0800047 = 0.5800047; m = 0.1017 + 0.05800047 = 0.15970047
        //     -> p = 0.700175
        var p = RunAdam(path, [1f], [[0.5f], [0.5f], [0.5f]], 0.1f, 0.1f, out var m, out _);
        T.AssertValues(p, new double[] { 0.700174575 }, 1e-6, "p");
        T.AssertValues(m, new double[] { 0.159700473 }, 1e-6, "m");
        var p1 = RunAdam(path, [1f], [[0.5f]], 0.1f, 0.1f, out _, out _);
        var p2 = RunAdam(path, [1f], [[0.5f], [0.5f]], 0.1f, 0.1f, out _, out _);
        T.AssertValues(p1, new double[] { 0.9 }, 1e-6, "p after 1");
        T.AssertValues(p2, new double[] { 0.800047340 }, 1e-6, "p after 2");
    }

    [Test]
    public void AdamEpsilonSitsOutsideTheSquareRoot()
    {
        // g = 1e-8 at t1: m^ = 1e-8, sqrt(v^) = 1e-8, so the step is lr * 1e-8 / (1e-8 + 1e-8) = lr / 2.
        // eps inside the root (sqrt(1e-16 + 1e-8) = 1e-4) would give a step of 1e-5 lr instead.
        var p = RunAdam(CpuPath.Reference, [1f], [[1e-8f]], 0.1f, 0f, out _, out _);
        T.AssertValues(p, new double[] { 0.95 }, 1e-6);
    }

    // ---- learning-rate schedule ---------------------------------------------------

    [TestCase(0, 2e-4)]
    [TestCase(999, 2e-4)]
    [TestCase(1000, 1e-4)]
    [TestCase(1999, 1e-4)]
    [TestCase(2500, 5e-5)]
    [TestCase(39999, 2e-4 / 549755813888.0)] // 0.5^39
    public void StepScheduleHalvesEveryThousand(int iteration, double expected)
    {
        // lr = base * gamma^floor(iteration / step)
        var o = new OptimizerConfig { Lr = 2e-4f, LrStep = 1000, LrGamma = 0.5f };
        Assert.That(o.LearningRateAt(iteration), Is.EqualTo(expected).Within(expected * 1e-6));
    }

    [Test]
    public void StepScheduleWithOtherGamma()
    {
        // base 1, gamma 0.1, step 3: iterations 0..2 -> 1, 3..5 -> 0.1, 6 -> 0.01
        var o = new OptimizerConfig { Lr = 1f, LrStep = 3, LrGamma = 0.1f };
        float[] lrs = Enumerable.Range(0, 7).Select(o.LearningRateAt).ToArray();
        T.AssertValues(lrs, new double[] { 1, 1, 1, 0.1, 0.1, 0.1, 0.01 }, 1e-6);
    }

    // ---- GEMM -------------------------------------------------------------------

    // A = [1 2 3; 4 5 6] (2x3), B = [7 8; 9 10; 11 12] (3x2)
    // A B = [1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12; 4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12] = [58 64; 139 154]
    private static readonly float[] A = [1, 2, 3, 4, 5, 6];
    private static readonly float[] At = [1, 4, 2, 5, 3, 6];
    private static readonly float[] B = [7, 8, 9, 10, 11, 12];
    private static readonly float[] Bt = [7, 9, 11, 8, 10, 12];

    [Test]
    public void GemmAllTransposeCombinations(
        [Values(CpuPath.Reference, CpuPath.Fast)] CpuPath path,
        [Values(false, true)] bool transA,
        [Values(false, true)] bool transB)
    {
        using var bk = T.Backend(path);
        var a = T.Make(bk, [6], transA ? At : A);
        var b = T.Make(bk, [6], transB ? Bt : B);
        // alpha 2, beta 0.5 over C0 = [1 2; 3 4]: 2 A B + 0.5 C0 = [116.5 129; 279.5 310]
        var c = T.Make(bk, [2, 2], 1, 2, 3, 4);
        bk.Gemm(transA, transB, 2, 2, 3, 2f, a, b, 0.5f, c);
        T.AssertValues(c.ToArray(), new double[] { 116.5, 129, 279.5, 310 });
        // beta 0 ignores C even when it holds NaN
        bk.Fill(c, float.NaN);
        bk.Gemm(transA, transB, 2, 2, 3, 1f, a, b, 0f, c);
        T.AssertValues(c.ToArray(), new double[] { 58, 64, 139, 154 });
    }

    [Test]
    public void GemmNonSquareOutput([Values(CpuPath.Reference, CpuPath.Fast)] CpuPath path)
    {
        // B^T A^T... here op(A) = A^T (3x2) times op(B) = A (2x3): A^T A =
        // [1*1 + 4*4, 1*2 + 4*5, 1*3 + 4*6; 2*1 + 5*4, 2*2 + 5*5, 2*3 + 5*6; 3*1 + 6*4, 3*2 + 6*5, 3*3 + 6*6]
        // = [17 22 27; 22 29 36; 27 36 45]
        using var bk = T.Backend(path);
        var a = T.Make(bk, [6], A);
        var c = bk.Allocate(3, 3);
        bk.Fill(c, float.NaN);
        bk.Gemm(true, false, 3, 3, 2, 1f, a, a, 0f, c);
        T.AssertValues(c.ToArray(), new double[] { 17, 22, 27, 22, 29, 36, 27, 36, 45 });
    }
}
