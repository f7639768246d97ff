using GcnNative.Cpu;
using GcnNative.Verify;
using NUnit.Framework;

namespace GcnNative.Tests.Verify;

/// <summary>
/// The verifier itself, run with the two CPU paths: the fast path must agree with the
/// reference on every op and shape, and the verifier must notice a backend that is wrong.
/// </summary>
public class VerifierTests
{
    [Test]
    public void CpuFastAgreesWithCpuReference()
    {
        using var reference = new CpuBackend(CpuPath.Reference);
        using var fast = new CpuBackend(CpuPath.Fast);
        var log = new StringWriter();
        var verifier = new BackendVerifier(reference, fast, log);

        bool ok = verifier.RunAll();

        TestContext.Out.WriteLine(log.ToString());
        Assert.That(verifier.Results, Has.Count.GreaterThan(100));
        Assert.That(verifier.Results.Where(r => !r.Passed).Select(r => $"{r.Op} {r.Shape} {r.Error}"), Is.Empty);
        Assert.That(ok, Is.True);
    }

    [Test]
    public void EveryLineNamesOpShapeErrorsToleranceAndVerdict()
    {
        using var reference = new CpuBackend(CpuPath.Reference);
        using var fast = new CpuBackend(CpuPath.Fast);
        var log = new StringWriter();
        new BackendVerifier(reference, fast, log, new VerifierSettings { Filter = "dropout" }).RunAll();

        var lines = log.ToString().Split('\n').Where(l => l.StartsWith("PASS") || l.StartsWith("FAIL")).ToList();
        Assert.That(lines, Is.Not.Empty);
        foreach (var line in lines)
            Assert.That(line, Does.Match(@"^(PASS|FAIL)  dropout_\w+ +.+ abs .+ rel .+ tol \S+"));
    }

    [Test]
    public void AWrongBackendFails()
    {
        using var reference = new CpuBackend(CpuPath.Reference);
        using var broken = new OffByOneUlpLeakyRelu();
        var log = new StringWriter();
        var verifier = new BackendVerifier(reference, broken, log, new VerifierSettings { Filter = "leaky_relu_forward" });

        Assert.That(verifier.RunAll(), Is.False);
        Assert.That(log.ToString(), Does.Contain("FAIL"));
        Assert.That(log.ToString(), Does.Contain("expected"));
    }

    [Test]
    public void AThrowingBackendFailsWithTheMessage()
    {
        using var reference = new CpuBackend(CpuPath.Reference);
        using var broken = new ThrowingAdam();
        var log = new StringWriter();
        var verifier = new BackendVerifier(reference, broken, log, new VerifierSettings { Filter = "adam" });

        Assert.That(verifier.RunAll(), Is.False);
        Assert.That(log.ToString(), Does.Contain("no adam here"));
    }

    [Test]
    public void ParityRunComparesLossCurves()
    {
        using var a = new CpuBackend(CpuPath.Reference);
        using var b = new CpuBackend(CpuPath.Fast);
        var log = new StringWriter();
        float[] Curve(IBackend backend) => Enumerable.Range(0, 50).Select(i => 2f / (i + 1)).ToArray();
        Assert.That(BackendVerifier.ParityRun(a, b, Curve, 1e-6, log), Is.True);

        float[] Drifting(IBackend backend) =>
            Enumerable.Range(0, 50).Select(i => 2f / (i + 1) * (backend == b && i > 40 ? 1.01f : 1f)).ToArray();
        Assert.That(BackendVerifier.ParityRun(a, b, Drifting, 1e-3, log), Is.False);
        Assert.That(log.ToString(), Does.Contain("parity: FAIL"));
    }

    /// <summary>A CPU backend whose LeakyReLU is off by a little for negative inputs.</summary>
    private sealed class OffByOneUlpLeakyRelu : CpuDecorator
    {
        public override void LeakyReluForward(Tensor x, Tensor y, float slope)
        {
            BaseLeakyRelu(x, y, slope);
            var data = CpuBackend.Data(y);
            for (int i = 0; i < data.Length; i++)
                if (data[i] < 0) data[i] = MathF.BitIncrement(data[i] * 1.001f);
        }
    }

    private sealed class ThrowingAdam : CpuDecorator
    {
        public override void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamStep step) =>
            throw new InvalidOperationException("no adam here");
    }
}
