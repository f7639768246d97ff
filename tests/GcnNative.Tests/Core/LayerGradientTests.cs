using GcnNative.Layers;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>
/// Central-difference checks of every layer's backward (input and parameter gradients) on
/// the reference backend, with L = sum(output * R) for a fixed random R.
/// </summary>
[TestFixture]
public class LayerGradientTests
{
    [TestCase(1)]
    [TestCase(3)]
    public void Linear(int batch)
    {
        // a [3, 2, 2] input is viewed as 12 features
        new LayerHarness(new Linear("fc", 5, 1f), batch, [3, 2, 2], seed: 11).CheckAll();
    }

    // channels in, size, channels out, kernel, stride, pad
    [TestCase(2, 5, 3, 3, 1, 0)]
    [TestCase(2, 5, 3, 3, 1, 1)]
    [TestCase(2, 7, 3, 3, 2, 1)]
    [TestCase(1, 6, 2, 5, 1, 2)]
    [TestCase(3, 5, 2, 2, 2, 0)]
    [TestCase(2, 7, 2, 3, 2, 2)]
    [TestCase(2, 6, 2, 4, 2, 1)]
    public void Convolution(int cin, int size, int cout, int k, int s, int p)
    {
        var layer = new Convolution("conv", cout, k, s, p, 1f);
        new LayerHarness(layer, 2, [cin, size, size], seed: 100 + k * 10 + s * 3 + p).CheckAll();
    }

    [TestCase(2, 3, 3, 4, 2, 1)] // 3 -> 6
    [TestCase(2, 3, 2, 5, 2, 0)] // 3 -> 9
    [TestCase(3, 3, 2, 2, 2, 0)] // 3 -> 6
    [TestCase(2, 4, 3, 3, 1, 1)] // 4 -> 4
    [TestCase(1, 2, 2, 4, 2, 0)] // 2 -> 6
    public void TransposedConvolution(int cin, int size, int cout, int k, int s, int p)
    {
        var layer = new TransposedConvolution("deconv", cout, k, s, p, 1f);
        new LayerHarness(layer, 2, [cin, size, size], seed: 200 + k * 10 + s * 3 + p).CheckAll();
    }

    [Test]
    public void LeakyRelu()
    {
        // the derivative jumps at 0: skip inputs within the kink band |x| < 2 eps
        const float eps = 1e-2f;
        var h = new LayerHarness(new LeakyRelu("lrelu", 0.2f), 2, [3, 4, 4], seed: 5);
        var x = h.X.ToArray();
        h.CheckAll(eps, skipInput: i => Math.Abs(x[i]) < 2 * eps);
    }

    [TestCase(2, 2, 6)]
    [TestCase(3, 2, 7)]
    [TestCase(3, 1, 5)]
    public void MaxPool(int k, int s, int size)
    {
        // distinct inputs spaced 0.1 apart (a shuffled ramp) so no +-eps step changes a window's max
        var h = new LayerHarness(new MaxPool("pool", k, s), 2, [2, size, size], seed: 9);
        var rng = new Random(17);
        var ramp = Enumerable.Range(0, h.X.Length).Select(i => (float)(0.1 * (i - h.X.Length / 2))).ToArray();
        rng.Shuffle(ramp);
        h.Backend.Upload(h.X, ramp);
        h.CheckAll(1e-2f);
    }

    [TestCase(5, 1e-4f, 0.75f, 2f)] // AlexNet's constants
    [TestCase(5, 1f, 0.75f, 2f)]     // a large alpha so the cross-channel term matters
    [TestCase(3, 2f, 0.75f, 1f)]
    [TestCase(2, 1.5f, 0.6f, 1f)]    // even window
    public void LocalResponseNorm(int size, float alpha, float beta, float k)
    {
        var layer = new LocalResponseNorm("lrn", new LrnParams(size, alpha, beta, k));
        new LayerHarness(layer, 2, [7, 2, 2], seed: 31, inputScale: 1.5f).CheckAll(eps: 5e-3f);
    }

    [Test]
    public void DropoutWithAFixedMask()
    {
        // the seed advances every training forward; pin it so every evaluation draws the same mask
        var layer = new Dropout("drop", 0.3f);
        var h = new LayerHarness(layer, 2, [40], seed: 3) { Training = true };
        h.BeforeForward = () => layer.Seed = 1234;
        var (dx, _) = h.Gradients();
        Assert.That(dx.Count(v => v == 0), Is.InRange(10, 40), "some inputs are dropped");
        h.CheckAll();
    }

    [Test]
    public void DropoutInInference()
    {
        var h = new LayerHarness(new Dropout("drop", 0.5f), 2, [10], seed: 4);
        h.CheckAll();
    }

    [Test]
    public void ReshapeAndFlatten()
    {
        new LayerHarness(new Reshape("r", [4, 3]), 2, [3, 2, 2], seed: 6).CheckAll();
        new LayerHarness(new Reshape("f", null), 2, [3, 2, 2], seed: 7).CheckAll();
    }

    [Test]
    public void ReshapeRejectsAnotherCount()
    {
        var e = Assert.Throws<ArgumentException>(() => new Reshape("r", [5, 3]).OutputShape([3, 2, 2]));
        Assert.That(e!.Message, Does.Contain("r").And.Contain("12").And.Contain("[5, 3]"));
    }

    [Test]
    public void SequentialChainThroughAReshapeView()
    {
        // fc -> lrelu -> reshape -> conv -> lrelu -> maxpool -> flatten -> fc: the views pass
        // gradients through shared storage, so a wrong alias shows up here
        using var b = T.Reference();
        var layers = new List<Layer>
        {
            new Linear("0", 2 * 4 * 4, 0.2f), new LeakyRelu("1", 0.2f), new Reshape("2", [2, 4, 4]),
            new Convolution("3", 3, 3, 1, 1, 0.2f), new LeakyRelu("4", 0.2f), new MaxPool("5", 2, 2),
            new Reshape("6", null), new Linear("7", 3, 1f),
        };
        var net = new Sequential("net", layers, [5]);
        Assert.That(net.OutputShape, Is.EqualTo(new[] { 3 }));
        var rng = new Random(21);
        net.CreateParameters(b, "", rng);
        var x = b.Allocate(2, 5);
        var dx = b.Allocate(2, 5);
        net.Build(b, x, dx);
        T.FillRandom(x, rng);
        foreach (var p in net.Parameters) T.FillRandom(p.Value, rng, 0.5f);
        var r = T.Random(net.Output.Length, rng);
        double Loss()
        {
            net.Forward(false);
            var y = net.Output.ToArray();
            return y.Select((v, i) => (double)v * r[i]).Sum();
        }
        Loss();
        b.Upload(net.OutputGrad, r);
        net.Backward(BackwardMode.Full);
        var gc = new GradientChecker(Loss, 1e-3f);
        gc.Check("x", x, dx.ToArray(), detectKinks: true);
        foreach (var p in net.Parameters) gc.Check(p.Name, p.Value, p.Grad.ToArray(), detectKinks: true);
        gc.AssertPassed(minChecked: 100, maxSkippedFraction: 0.05);
    }
}
