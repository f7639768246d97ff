using GcnNative.Cpu;
using GcnNative.Layers;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>Convolution and transposed convolution against values worked out by hand.</summary>
[TestFixture]
public class ConvolutionValueTests
{
    // x (1x1x3x3)      w (1x1x2x2)
    //   1 2 3            1 2
    //   4 5 6            3 4
    //   7 8 9
    private static readonly float[] X3 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    private static readonly float[] W2 = [1, 2, 3, 4];

    private static float[] Conv(CpuPath path, int stride, int pad, out ConvGeometry g)
    {
        using var b = T.Backend(path);
        g = ConvGeometry.Create(1, 1, 3, 3, 1, kernel: 2, stride, pad);
        var x = T.Make(b, [1, 1, 3, 3], X3);
        var w = T.Make(b, [1, 1, 2, 2], W2);
        var y = b.Allocate(g.YShape);
        b.Fill(y, float.NaN); // the forward must overwrite
        b.ConvForward(g, x, w, y);
        return y.ToArray();
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void Stride1Pad0(CpuPath path)
    {
        // y[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37, y[0,1] = 2 + 6 + 15 + 24 = 47,
        // y[1,0] = 4 + 10 + 21 + 32 = 67,    y[1,1] = 5 + 12 + 24 + 36 = 77
        var y = Conv(path, 1, 0, out var g);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((2, 2)));
        T.AssertValues(y, new double[] { 37, 47, 67, 77 });
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void Stride2Pad0(CpuPath path)
    {
        // out = (3 - 2) / 2 + 1 = 1: only the top-left window
        var y = Conv(path, 2, 0, out var g);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((1, 1)));
        T.AssertValues(y, new double[] { 37 });
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void Stride1Pad1(CpuPath path)
    {
        // out = (3 + 2 - 2) + 1 = 4; window (r, c) covers input rows r-1..r, cols c-1..c
        // row 0: 1*4 = 4 | 1*3 + 2*4 = 11 | 2*3 + 3*4 = 18 | 3*3 = 9
        // row 1: 1*2 + 4*4 = 18 | 37 | 47 | 3*1 + 6*3 = 21
        // row 2: 4*2 + 7*4 = 36 | 67 | 77 | 6*1 + 9*3 = 33
        // row 3: 7*2 = 14 | 7*1 + 8*2 = 23 | 8*1 + 9*2 = 26 | 9*1 = 9
        var y = Conv(path, 1, 1, out var g);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((4, 4)));
        T.AssertValues(y, new double[] { 4, 11, 18, 9, 18, 37, 47, 21, 36, 67, 77, 33, 14, 23, 26, 9 });
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void Stride2Pad1(CpuPath path)
    {
        // out = (3 + 2 - 2) / 2 + 1 = 2 (floor); windows start at -1 and 1
        // (0,0): 1*4 = 4; (0,1): 2*3 + 3*4 = 18; (1,0): 4*2 + 7*4 = 36; (1,1): 5 + 12 + 24 + 36 = 77
        var y = Conv(path, 2, 1, out var g);
        Assert.That((g.OutHeight, g.OutWidth), Is.EqualTo((2, 2)));
        T.AssertValues(y, new double[] { 4, 18, 36, 77 });
    }

    [Test]
    public void ConvolutionLayerMixesChannelsAndAddsBias()
    {
        // input channel 0 is the 3x3 ramp above, channel 1 is all ones.
        // out 0: w[0,0] = [1 2; 3 4], w[0,1] = [1 1; 1 1], bias 0.5 -> ramp conv + 4 + 0.5
        // out 1: w[1,0] = [0 0; 0 -1], w[1,1] = [2 0; 0 0], bias -1 -> -x[r+1, c+1] + 2 - 1
        using var b = T.Reference();
        var layer = new Convolution("c", outChannels: 2, kernel: 2, stride: 1, pad: 0, initSlope: 1);
        layer.CreateParameters(b, "", [2, 3, 3], new Random(1));
        var x = T.Make(b, [1, 2, 3, 3], [.. X3, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        layer.Build(b, x, null);
        b.Upload(layer.Parameters[0].Value, [1, 2, 3, 4, 1, 1, 1, 1, 0, 0, 0, -1, 2, 0, 0, 0]);
        b.Upload(layer.Parameters[1].Value, [0.5f, -1f]);
        layer.Forward(training: false);
        Assert.That(layer.Output.Shape, Is.EqualTo(new[] { 1, 2, 2, 2 }));
        T.AssertValues(layer.Output.ToArray(), new double[] { 41.5, 51.5, 71.5, 81.5, -4, -5, -7, -8 });
    }

    [TestCase(CpuPath.Reference)]
    [TestCase(CpuPath.Fast)]
    public void BackwardPassesByHand(CpuPath path)
    {
        // stride 1, pad 0 on the ramp with dy = [1 0; 0 2]:
        // dw[kh,kw] = x[kh,kw] * 1 + x[kh+1,kw+1] * 2 -> [1+10, 2+12; 4+16, 5+18] = [11 14; 20 23]
        // dx = w placed at (0,0) plus 2 w placed at (1,1):
        //   1 2 0
        //   3 4+2 4
        //   0 6 8
        using var b = T.Backend(path);
        var g = ConvGeometry.Create(1, 1, 3, 3, 1, 2, 1, 0);
        var x = T.Make(b, [1, 1, 3, 3], X3);
        var w = T.Make(b, [1, 1, 2, 2], W2);
        var dy = T.Make(b, [1, 1, 2, 2], 1, 0, 0, 2);
        var dw = T.Make(b, [1, 1, 2, 2], 100, 100, 100, 100);
        b.ConvBackwardFilter(g, x, dy, dw, accumulate: false);
        T.AssertValues(dw.ToArray(), new double[] { 11, 14, 20, 23 }, what: "dw");
        b.ConvBackwardFilter(g, x, dy, dw, accumulate: true);
        T.AssertValues(dw.ToArray(), new double[] { 22, 28, 40, 46 }, what: "dw accumulated");
        var dx = b.Allocate(1, 1, 3, 3);
        b.Fill(dx, 7);
        b.ConvBackwardData(g, dy, w, dx);
        T.AssertValues(dx.ToArray(), new double[] { 1, 2, 0, 3, 6, 4, 0, 6, 8 }, what: "dx");
    }

    // ---- transposed convolution ---------------------------------------------------

    private static TransposedConvolution Deconv(IBackend b, int inChannels, int size, int outChannels,
        int kernel, int stride, int pad, out Tensor x)
    {
        var layer = new TransposedConvolution("d", outChannels, kernel, stride, pad, initSlope: 1);
        layer.CreateParameters(b, "", [inChannels, size, size], new Random(1));
        x = b.Allocate(1, inChannels, size, size);
        layer.Build(b, x, null);
        return layer;
    }

    private static float[] Kernel16() => Enumerable.Range(1, 16).Select(i => (float)i).ToArray();

    [Test]
    public void TransposedK4S2P0Maps8To18AndPlacesKernelAtStrideOffsets()
    {
        // out = (8 - 1) * 2 + 4 - 0 = 18. One input pixel v at (1, 2) paints v * w into
        // rows 2..5, cols 4..7 (top-left corner at (1*2 - 0, 2*2 - 0)); everything else is the bias.
        using var b = T.Reference();
        var layer = Deconv(b, 1, 8, 1, 4, 2, 0, out var x);
        Assert.That(layer.OutputShape([1, 8, 8]), Is.EqualTo(new[] { 1, 18, 18 }));
        Assert.That(layer.Output.Shape, Is.EqualTo(new[] { 1, 1, 18, 18 }));
        var w = Kernel16();
        b.Upload(layer.Parameters[0].Value, w);
        b.Upload(layer.Parameters[1].Value, [0.25f]);
        b.Upload(x, [3f], 1 * 8 + 2);
        layer.Forward(false);
        var y = layer.Output.ToArray();
        var expected = new double[18 * 18];
        Array.Fill(expected, 0.25);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                expected[(2 + r) * 18 + 4 + c] = 3 * w[r * 4 + c] + 0.25;
        T.AssertValues(y, expected);
    }

    [Test]
    public void TransposedK4S2P1Maps7To14AndCropsThePadding()
    {
        // out = (7 - 1) * 2 + 4 - 2 = 14. Pixel (0, 0) would paint rows/cols -1..2: the crop keeps
        // w[1..3, 1..3] at out[0..2, 0..2]. Its neighbour (0, 1) paints cols 1..4, so the two
        // overlap on cols 1..2: out[r, c] = w[r+1, c+1] + w[r+1, c-1] there.
        using var b = T.Reference();
        var layer = Deconv(b, 1, 7, 1, 4, 2, 1, out var x);
        Assert.That(layer.Output.Shape, Is.EqualTo(new[] { 1, 1, 14, 14 }));
        var w = Kernel16();
        b.Upload(layer.Parameters[0].Value, w);
        b.Upload(x, [1f, 1f]); // pixels (0,0) and (0,1)
        layer.Forward(false);
        var y = layer.Output.ToArray();
        double W(int r, int c) => r is >= 0 and < 4 && c is >= 0 and < 4 ? w[r * 4 + c] : 0;
        var expected = new double[14 * 14];
        for (int r = 0; r < 14; r++)
            for (int c = 0; c < 14; c++)
                expected[r * 14 + c] = W(r + 1, c + 1) + W(r + 1, c - 1);
        // spot values: out[0,0] = w[1,1] = 6, out[0,1] = w[1,2] + w[1,0] = 7 + 5 = 12,
        // out[2,4] = w[3,3] = 16, out[3,0] = 0
        Assert.That(y[0], Is.EqualTo(6f));
        Assert.That(y[1], Is.EqualTo(12f));
        Assert.That(y[2 * 14 + 4], Is.EqualTo(16f));
        Assert.That(y[3 * 14], Is.EqualTo(0f));
        T.AssertValues(y, expected);
    }

    [Test]
    public void TransposedWeightLayoutIsInputChannelsFirst()
    {
        // W is [in, out, k, k]: with 2 inputs and 3 outputs, k1 s1 p0 is a per-pixel matrix
        // y[o] = sum_i W[i, o] x[i] + b[o]; x = (1, 10), W = [[1 2 3], [4 5 6]], b = (0, 0, 1)
        // -> y = (1 + 40, 2 + 50, 3 + 60 + 1) = (41, 52, 64)
        using var b = T.Reference();
        var layer = Deconv(b, 2, 1, 3, 1, 1, 0, out var x);
        b.Upload(layer.Parameters[0].Value, [1, 2, 3, 4, 5, 6]);
        b.Upload(layer.Parameters[1].Value, [0, 0, 1]);
        b.Upload(x, [1, 10]);
        layer.Forward(false);
        Assert.That(layer.Parameters[0].Value.Shape, Is.EqualTo(new[] { 2, 3, 1, 1 }));
        T.AssertValues(layer.Output.ToArray(), new double[] { 41, 52, 64 });
    }

    [TestCase(8, 4, 2, 0, 18)]
    [TestCase(7, 4, 2, 1, 14)]
    [TestCase(14, 4, 2, 1, 28)]
    [TestCase(8, 5, 2, 0, 19)]
    [TestCase(19, 5, 2, 1, 39)]
    [TestCase(39, 5, 2, 1, 79)]
    [TestCase(79, 2, 2, 0, 158)]
    public void TransposedOutputSizeFormula(int input, int kernel, int stride, int pad, int output)
    {
        // out = (in - 1) * stride + kernel - 2 * pad: the sizes of the paper's two generators
        var layer = new TransposedConvolution("d", 3, kernel, stride, pad, 1);
        Assert.That(layer.OutputShape([5, input, input]), Is.EqualTo(new[] { 3, output, output }));
    }
}
