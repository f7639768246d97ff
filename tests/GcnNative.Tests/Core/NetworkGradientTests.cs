using GcnNative.Layers;
using GcnNative.Model;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>
/// Gradient checks of whole networks: the multi-head classifier (heads summed into the
/// body), the generator (branches, concat, trunk) and the two objectives of a GCN iteration
/// as GcnModel computes them. Kinks (LeakyReLU, max-pool switches) crossed by a step are
/// detected from the one-sided slopes and skipped; at most a few percent may be.
/// </summary>
[TestFixture]
public class NetworkGradientTests
{
    private const float Eps = 1e-3f;

    private static void RandomiseParameters(IEnumerable<Parameter> ps, Random rng)
    {
        foreach (var p in ps) T.FillRandom(p.Value, rng, 0.6f);
    }

    [Test]
    public void MultiHeadClassifierSumsTheHeadsIntoTheBody()
    {
        using var b = T.Reference();
        var config = TinyConfig.Parse(dropout: "0");
        var c = new MultiHeadClassifier("classifier", config.Classifier, config.Image.Shape, config.Features, "tiny.json");
        var rng = new Random(41);
        c.CreateParameters(b, rng);
        c.Build(b, 2);
        RandomiseParameters(c.Parameters, rng);
        T.FillRandom(c.Input, rng);
        Assert.That(c.Logits.Shape, Is.EqualTo(new[] { 2, 5 }));
        var r = T.Random(c.Logits.Length, rng);
        double Loss()
        {
            c.Forward(training: false);
            return c.Logits.ToArray().Select((v, i) => (double)v * r[i]).Sum();
        }
        Loss();
        b.Upload(c.LogitsGrad, r);
        c.Backward(BackwardMode.Full);

        var gc = new GradientChecker(Loss, Eps);
        gc.Check("image", c.Input, c.InputGrad.ToArray(), detectKinks: true);
        foreach (var p in c.Parameters) gc.Check(p.Name, p.Value, p.Grad.ToArray(), detectKinks: true);
        gc.AssertPassed(minChecked: 300, maxSkippedFraction: 0.05);
    }

    [Test]
    public void MultiHeadClassifierLogitsAreTheHeadsSideBySide()
    {
        // the shape head's 3 logits then the colour head's 2, per row
        using var b = T.Reference();
        var config = TinyConfig.Parse(dropout: "0");
        var c = new MultiHeadClassifier("classifier", config.Classifier, config.Image.Shape, config.Features, "tiny.json");
        c.CreateParameters(b, new Random(1));
        c.Build(b, 2);
        T.FillRandom(c.Input, new Random(2));
        c.Forward(false);
        Assert.That(c.LossHeads, Is.EqualTo(new[] { new LossHead(0, 3, 0, 1f), new LossHead(3, 2, 1, 1f) }));
        var logits = c.Logits.ToArray();
        var shape = c.Heads[0].Output.ToArray();
        var colour = c.Heads[1].Output.ToArray();
        for (int n = 0; n < 2; n++)
        {
            Assert.That(logits.AsSpan(n * 5, 3).ToArray(), Is.EqualTo(shape.AsSpan(n * 3, 3).ToArray()));
            Assert.That(logits.AsSpan(n * 5 + 3, 2).ToArray(), Is.EqualTo(colour.AsSpan(n * 2, 2).ToArray()));
        }
    }

    [Test]
    public void GeneratorBranchesConcatAndTrunk()
    {
        using var b = T.Reference();
        var config = TinyConfig.Parse();
        var g = new Generator(config.Generator, config.Image.Shape, config.Features, "tiny.json");
        Assert.That(g.ConcatWidth, Is.EqualTo(4 + 3), "shape branch is 4 wide, the colour override 3");
        var rng = new Random(43);
        g.CreateParameters(b, rng);
        g.Build(b, 2);
        RandomiseParameters(g.Parameters, rng);
        foreach (var code in g.Codes) T.FillRandom(code, rng); // mixed codes, not one-hot
        var r = T.Random(g.Output.Length, rng);
        double Loss()
        {
            g.Forward(training: false);
            return g.Output.ToArray().Select((v, i) => (double)v * r[i]).Sum();
        }
        Loss();
        b.Upload(g.OutputGrad, r);
        g.Backward();

        var gc = new GradientChecker(Loss, Eps);
        foreach (var p in g.Parameters) gc.Check(p.Name, p.Value, p.Grad.ToArray(), detectKinks: true);
        gc.AssertPassed(minChecked: 150, maxSkippedFraction: 0.05);
    }

    // ---- the GCN objectives as GcnModel trains them --------------------------------

    /// <summary>
    /// L_G = pixelW E(G(codes), real) + lambda sum_f w_f CE_f(C(G(codes))), computed on the host
    /// in double from the networks' outputs: E = 1/(2N) sum d^2, CE_f = -(1/N) sum_n log softmax.
    /// </summary>
    private static double HostObjective(GcnModel model, float[] real, float[] labels, float pixelW,
        float lambda, float[] featureWeights, bool generated)
    {
        if (generated)
        {
            model.Generator.Forward(training: false);
            model.Backend.Copy(model.Generator.Output, model.Classifier.Input);
        }
        else
        {
            model.Backend.Upload(model.Classifier.Input, real);
        }
        model.Classifier.Forward(training: false);
        var logits = model.Classifier.Logits.ToArray();
        int n = model.Batch, total = TinyConfig.Classes.Sum();
        double ce = 0;
        for (int i = 0; i < n; i++)
        {
            int offset = 0;
            for (int f = 0; f < TinyConfig.Classes.Length; f++)
            {
                int k = TinyConfig.Classes[f];
                var z = logits.AsSpan(i * total + offset, k).ToArray().Select(v => (double)v).ToArray();
                double max = z.Max();
                double logSum = Math.Log(z.Sum(v => Math.Exp(v - max))) + max;
                ce += featureWeights[f] * (logSum - z[(int)labels[i * 2 + f]]) / n;
                offset += k;
            }
        }
        if (!generated) return ce;
        var image = model.Generator.Output.ToArray();
        double e = 0;
        for (int i = 0; i < image.Length; i++) e += ((double)image[i] - real[i]) * ((double)image[i] - real[i]);
        e /= 2.0 * n;
        return pixelW * e + lambda * ce;
    }

    private static Dictionary<Parameter, float[]> Snapshot(IEnumerable<Parameter> ps) =>
        ps.ToDictionary(p => p, p => p.Value.ToArray());

    private static void Restore(GcnModel model, Dictionary<Parameter, float[]> saved)
    {
        foreach (var (p, v) in saved) model.Backend.Upload(p.Value, v);
    }

    [TestCase(0, 0.7f)]
    [TestCase(5, 0f)] // during the classifier warm-up the generator sees the pixel term only
    public void GeneratorStepFollowsTheCombinedObjective(int warmup, float expectedLambda)
    {
        // TrainIteration leaves the gradients of its generator step in the generator's Grad
        // buffers: dL_G/dtheta_G at the generator's weights before its Adam step and the
        // classifier's weights after the classifier's step (which the generator step does not touch).
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(dropout: "0", warmup: warmup), b, batch: 3, seed: 5, "tiny.json");
        var (labels, real) = TinyConfig.UploadBatch(model, seed: 8);
        var before = Snapshot(model.Generator.Parameters);
        var losses = model.TrainIteration(0, readLosses: true)!;
        Assert.That(losses.ClassificationWeight, Is.EqualTo(expectedLambda));
        var analytic = model.Generator.Parameters.ToDictionary(p => p, p => p.Grad.ToArray());
        Restore(model, before);

        float[] w = [1.5f, 0.5f];
        double Loss() => HostObjective(model, real, labels, 0.3f, expectedLambda, w, generated: true);
        Assert.That(losses.GeneratorLoss, Is.EqualTo(Loss()).Within(1e-5 * Math.Max(1, Math.Abs(Loss()))),
            "the reported generator loss is L_G");

        var gc = new GradientChecker(Loss, Eps);
        foreach (var p in model.Generator.Parameters) gc.Check(p.Name, p.Value, analytic[p], detectKinks: true);
        gc.AssertPassed(minChecked: 150, maxSkippedFraction: 0.05);
    }

    [Test]
    public void ClassifierStepFollowsTheWeightedCrossEntropy()
    {
        // L_C = sum_f w_f CE_f(C(real)); the generator step (not cooperative) leaves the
        // classifier's Grad buffers as the classifier step wrote them
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(dropout: "0"), b, batch: 3, seed: 6, "tiny.json");
        var (labels, real) = TinyConfig.UploadBatch(model, seed: 9);
        var before = Snapshot(model.Classifier.Parameters);
        var losses = model.TrainIteration(0, readLosses: true)!;
        var analytic = model.Classifier.Parameters.ToDictionary(p => p, p => p.Grad.ToArray());
        Restore(model, before);

        float[] w = [1.5f, 0.5f];
        double Loss() => HostObjective(model, real, labels, 0f, 1f, w, generated: false);
        Assert.That(losses.ClassifierLoss, Is.EqualTo(Loss()).Within(1e-5 * Math.Max(1, Math.Abs(Loss()))));

        var gc = new GradientChecker(Loss, Eps);
        foreach (var p in model.Classifier.Parameters) gc.Check(p.Name, p.Value, analytic[p], detectKinks: true);
        gc.AssertPassed(minChecked: 300, maxSkippedFraction: 0.05);
    }
}
