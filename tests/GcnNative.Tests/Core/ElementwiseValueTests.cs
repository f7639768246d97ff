using GcnNative.Cpu;
using GcnNative.Layers;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>Pooling, LRN, LeakyReLU, dropout and the counter RNG against hand-derived values.</summary>
[TestFixture]
public class ElementwiseValueTests
{
    // ---- max pooling --------------------------------------------------------------

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void MaxPoolFloorModeDropsTheRaggedEdge(CpuPath path)
    {
        // 5x5 input 0..24 except a huge value in the last row and column, which no window
        // reaches in floor mode: k2 s2 -> (5 - 2) / 2 + 1 = 2 windows per side.
        // windows start at 0 and 2: maxima are x[1,1] = 6, x[1,3] = 8, x[3,1] = 16, x[3,3] = 18
        using var b = T.Backend(path);
        var xs = Enumerable.Range(0, 25).Select(i => (float)i).ToArray();
        for (int i = 0; i < 5; i++) { xs[4 * 5 + i] = 1000; xs[i * 5 + 4] = 1000; }
        var g = PoolGeometry.Create(1, 1, 5, 5, 2, 2);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((2, 2)));
        var x = T.Make(b, [1, 1, 5, 5], xs);
        var y = b.Allocate(g.YShape);
        b.MaxPoolForward(g, x, y);
        T.AssertValues(y.ToArray(), new double[] { 6, 8, 16, 18 });
    }

    [TestCase(13, 6)]
    [TestCase(28, 13)]
    [TestCase(74, 36)]
    [TestCase(36, 17)]
    [TestCase(17, 8)]
    public void MaxPoolK3S2Sizes(int input, int output)
    {
        // floor((in - 3) / 2) + 1, the sizes quoted for the paper's classifiers
        var layer = new MaxPool("p", 3, 2);
        Assert.That(layer.OutputShape([4, input, input]), Is.EqualTo(new[] { 4, output, output }));
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void MaxPoolBackwardRoutesToFirstMaximum(CpuPath path)
    {
        // one 2x2 window per channel-plane; channel 0 ties (3 at (0,0), (0,1) and (1,1)) so the
        // gradient goes to the first in row-major order; channel 1 has its max at (1,0).
        using var b = T.Backend(path);
        var g = PoolGeometry.Create(1, 2, 2, 2, 2, 2);
        var x = T.Make(b, [1, 2, 2, 2], 3, 3, 1, 3, -5, -2, -1, -4);
        var y = b.Allocate(g.YShape);
        b.MaxPoolForward(g, x, y);
        T.AssertValues(y.ToArray(), new double[] { 3, -1 });
        var dy = T.Make(b, [1, 2, 1, 1], 0.5f, 2f);
        var dx = b.Allocate(g.XShape);
        b.Fill(dx, 9);
        b.MaxPoolBackward(g, x, y, dy, dx);
        T.AssertValues(dx.ToArray(), new double[] { 0.5, 0, 0, 0, 0, 0, 2, 0 });
    }

    [Test]
    public void MaxPoolOverlappingWindowsAccumulate()
    {
        // a 3x5 input with k3 s2 has two windows, cols 0..2 and 2..4;
        // the shared column 2 holds the global max, so both gradients land on it: 1 + 10 = 11
        using var b = T.Reference();
        var g = PoolGeometry.Create(1, 1, 3, 5, 3, 2);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((1, 2)));
        var xs = new float[15];
        xs[1 * 5 + 2] = 7;
        var x = T.Make(b, [1, 1, 3, 5], xs);
        var y = b.Allocate(g.YShape);
        b.MaxPoolForward(g, x, y);
        var dy = T.Make(b, [1, 1, 1, 2], 1, 10);
        var dx = b.Allocate(g.XShape);
        b.MaxPoolBackward(g, x, y, dy, dx);
        var expected = new double[15];
        expected[1 * 5 + 2] = 11;
        T.AssertValues(dx.ToArray(), expected);
    }

    // ---- local response normalisation ---------------------------------------------

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void LrnSize5OnOnePixel(CpuPath path)
    {
        // three channels x = (1, 2, 3), size 5 covers every channel from each one:
        // scale = k + alpha/5 * (1 + 4 + 9) = 2 + 14/5 = 4.8 (alpha = 1, k = 2)
        // y = x / 4.8^0.75 = x / 3.24290... = (0.308367835, 0.616735670, 0.925103506)
        using var b = T.Backend(path);
        var p = new LrnParams(5, 1f, 0.75f, 2f);
        var x = T.Make(b, [1, 3, 1, 1], 1, 2, 3);
        var y = b.Allocate(1, 3, 1, 1);
        var scale = b.Allocate(1, 3, 1, 1);
        b.LrnForward(p, x, y, scale);
        T.AssertValues(scale.ToArray(), new double[] { 4.8, 4.8, 4.8 }, what: "scale");
        T.AssertValues(y.ToArray(), new double[] { 0.308367835, 0.616735670, 0.925103506 }, what: "y");
    }

    [Test]
    public void LrnAlexNetConstantsOnOnePixel()
    {
        // alpha 1e-4, beta 0.75, k 2: scale = 2 + 1e-4 / 5 * 14 = 2.00028,
        // y = x / 2.00028^0.75 = (0.594541132, 1.18908226, 1.78362340)
        using var b = T.Reference();
        var layer = new LocalResponseNorm("n", new LrnParams(5, 1e-4f, 0.75f, 2f));
        var x = T.Make(b, [1, 3, 1, 1], 1, 2, 3);
        layer.Build(b, x, null);
        layer.Forward(false);
        T.AssertValues(layer.Output.ToArray(), new double[] { 0.594541132, 1.18908226, 1.78362340 });
    }

    [Test]
    public void LrnWindowIsClippedAtTheChannelEdges()
    {
        // size 3 (one channel each side), alpha 3 so alpha/size = 1, beta 1, k 1:
        // c0: 1 + (1 + 4) = 6 -> 1/6;  c1: 1 + (1 + 4 + 9) = 15 -> 2/15;  c2: 1 + (4 + 9) = 14 -> 3/14
        using var b = T.Reference();
        var p = new LrnParams(3, 3f, 1f, 1f);
        var x = T.Make(b, [1, 3, 1, 1], 1, 2, 3);
        var y = b.Allocate(1, 3, 1, 1);
        var scale = b.Allocate(1, 3, 1, 1);
        b.LrnForward(p, x, y, scale);
        T.AssertValues(y.ToArray(), new double[] { 1.0 / 6, 2.0 / 15, 3.0 / 14 });
    }

    [Test]
    public void LrnSize2WindowIsCentredWithOneBefore()
    {
        // even size 2: one channel before, none after. alpha 2 (alpha/size = 1), beta 1, k 0:
        // c0: 1 -> 1/1; c1: 1 + 4 = 5 -> 2/5; c2: 4 + 9 = 13 -> 3/13
        using var b = T.Reference();
        var p = new LrnParams(2, 2f, 1f, 0f);
        var x = T.Make(b, [1, 3, 1, 1], 1, 2, 3);
        var y = b.Allocate(1, 3, 1, 1);
        var scale = b.Allocate(1, 3, 1, 1);
        b.LrnForward(p, x, y, scale);
        T.AssertValues(y.ToArray(), new double[] { 1.0, 2.0 / 5, 3.0 / 13 });
    }

    // ---- leaky relu ---------------------------------------------------------------

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void LeakyReluForwardAndBackward(CpuPath path)
    {
        // slope 0.1: negatives and zero are scaled (x > 0 is the strict test), positives pass
        using var b = T.Backend(path);
        var x = T.Make(b, [1, 5], -2, -0.5f, 0, 0.5f, 3);
        var y = b.Allocate(1, 5);
        b.LeakyReluForward(x, y, 0.1f);
        T.AssertValues(y.ToArray(), new double[] { -0.2, -0.05, 0, 0.5, 3 });
        var dy = T.Make(b, [1, 5], 1, 2, 3, 4, 5);
        var dx = b.Allocate(1, 5);
        b.LeakyReluBackward(x, dy, dx, 0.1f);
        T.AssertValues(dx.ToArray(), new double[] { 0.1, 0.2, 0.3, 4, 5 });
    }

    // ---- counter rng and dropout --------------------------------------------------

    [Test]
    public void CounterRngPinnedValues()
    {
        // values of the documented integer finaliser, worked out with an independent implementation
        // (seed 0, index 0 gives x = 0 through every round, hence exactly 0)
        Assert.That(CounterRng.Uniform(0, 0), Is.EqualTo(0f));
        Assert.That(CounterRng.Uniform(1, 0), Is.EqualTo(0.40834903717041016f));
        Assert.That(CounterRng.Uniform(42, 7), Is.EqualTo(0.9772790670394897f));
        Assert.That(CounterRng.Uniform(0x123456789UL, 3), Is.EqualTo(0.9607974290847778f));
    }

    [Test]
    public void CounterRngIsRoughlyUniform()
    {
        // 20000 draws: mean 1/2 and each decile about 2000 (sd ~ 42; allow 5 sd)
        var counts = new int[10];
        double sum = 0;
        for (uint i = 0; i < 20000; i++)
        {
            float u = CounterRng.Uniform(12345, i);
            Assert.That(u, Is.GreaterThanOrEqualTo(0f).And.LessThan(1f));
            counts[(int)(u * 10)]++;
            sum += u;
        }
        Assert.That(sum / 20000, Is.EqualTo(0.5).Within(0.01));
        Assert.That(counts, Has.All.InRange(1790, 2210));
    }

    [Test]
    public void DropoutMaskComesFromCounterRngAndScalesKeptValues()
    {
        // seed 42: u(i) = .090 .931 .655 .926 .958 .436 .659 .977 -> with p = 0.5 the kept ones
        // (u >= 0.5) are 1, 2, 3, 4, 6, 7 and scale by 1 / (1 - 0.5) = 2
        using var b = T.Reference();
        var layer = new Dropout("d", 0.5f) { Seed = 42 };
        var x = T.Make(b, [1, 8], 1, 2, 3, 4, 5, 6, 7, 8);
        var dx = b.Allocate(1, 8);
        layer.Build(b, x, dx);
        layer.Forward(training: true);
        T.AssertValues(layer.Output.ToArray(), new double[] { 0, 4, 6, 8, 10, 0, 14, 16 });
        b.Upload(layer.OutputGrad, [1, 1, 1, 1, 1, 1, 1, 1]);
        layer.Backward(BackwardMode.Full);
        T.AssertValues(dx.ToArray(), new double[] { 0, 2, 2, 2, 2, 0, 2, 2 });
    }

    [Test]
    public void DropoutScaleForOtherProbabilities()
    {
        // p = 0.25: kept values scale by 1 / 0.75; the kept fraction over 4000 values is ~0.75
        using var b = T.Reference();
        var layer = new Dropout("d", 0.25f) { Seed = 7 };
        var x = b.Allocate(1, 4000);
        b.Fill(x, 3f);
        layer.Build(b, x, null);
        layer.Forward(training: true);
        var y = layer.Output.ToArray();
        Assert.That(y.Distinct().OrderBy(v => v), Is.EqualTo(new[] { 0f, 4f }));
        Assert.That(y.Count(v => v != 0) / 4000.0, Is.EqualTo(0.75).Within(0.03));
        for (int i = 0; i < 50; i++)
            Assert.That(y[i] != 0, Is.EqualTo(CounterRng.Uniform(7, (uint)i) >= 0.25f), $"element {i}");
    }

    [Test]
    public void DropoutIsIdentityWhenNotTrainingAndAdvancesItsSeedWhenTraining()
    {
        using var b = T.Reference();
        var layer = new Dropout("d", 0.5f) { Seed = 42 };
        var x = b.Allocate(1, 64);
        T.FillRandom(x, new Random(3));
        var dx = b.Allocate(1, 64);
        layer.Build(b, x, dx);

        layer.Forward(training: false);
        Assert.That(layer.Output.ToArray(), Is.EqualTo(x.ToArray()));
        Assert.That(layer.Seed, Is.EqualTo(42UL), "inference must not consume the seed");
        var r = T.Random(64, new Random(4));
        b.Upload(layer.OutputGrad, r);
        layer.Backward(BackwardMode.Full);
        Assert.That(dx.ToArray(), Is.EqualTo(r), "inference backward is the identity");

        layer.Forward(training: true);
        var first = layer.Output.ToArray();
        Assert.That(layer.Seed, Is.Not.EqualTo(42UL));
        layer.Forward(training: true);
        var second = layer.Output.ToArray();
        Assert.That(second, Is.Not.EqualTo(first), "consecutive training passes draw new masks");
    }
}
