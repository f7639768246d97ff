using GcnNative.Cpu;
using GcnNative.Layers;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>Small helpers shared by the core tests: backends, tensors from literals, random fills.</summary>
internal static class T
{
    /// <summary>The oracle backend, single-threaded so results never depend on scheduling.</summary>
    public static CpuBackend Reference() => new(CpuPath.Reference, threads: 1);

    public static CpuBackend Backend(CpuPath path) => new(path, threads: 2);

    public static Tensor Make(IBackend b, int[] shape, params float[] values)
    {
        var t = b.Allocate(shape);
        Assert.That(values.Length, Is.EqualTo(t.Length), "literal does not match the shape");
        b.Upload(t, values);
        return t;
    }

    public static float[] Random(int count, Random rng, float scale = 1f)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    public static void FillRandom(Tensor t, Random rng, float scale = 1f) =>
        t.Backend.Upload(t, Random(t.Length, rng, scale));

    /// <summary>Caffe's gradient-check tolerance: |a - b| &lt;= rel * max(|a|, |b|, 1).</summary>
    public static bool Close(double a, double b, double rel = 1e-3) =>
        Math.Abs(a - b) <= rel * Math.Max(Math.Max(Math.Abs(a), Math.Abs(b)), 1.0);

    /// <summary>Element-wise comparison with a relative+absolute tolerance; reports the first mismatches.</summary>
    public static void AssertValues(float[] actual, double[] expected, double tol = 1e-5, string what = "")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        var bad = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!(Math.Abs(a - e) <= tol * Math.Max(1, Math.Abs(e))))
                bad.Add($"[{i}] expected {e:G9} got {a:G9}");
        }
        Assert.That(bad, Is.Empty, $"{what}: {bad.Count} mismatches, first: {string.Join("; ", bad.Take(6))}");
    }

    public static void AssertValues(float[] actual, float[] expected, double tol = 1e-5, string what = "") =>
        AssertValues(actual, expected.Select(v => (double)v).ToArray(), tol, what);
}

/// <summary>
/// Central-difference gradient checker (Caffe's habit): for a scalar function f of the
/// values in some tensors, compares the analytic gradient with (f(x + eps) - f(x - eps)) / (2 eps)
/// using |a - n| &lt;= 1e-3 max(|a|, |n|, 1).
/// With kink detection (whole networks, where a step in a shared weight moves hundreds of
/// activations and often crosses a LeakyReLU or max-pool switch) a mismatch is retried with a
/// ten times smaller step; if it still disagrees, the element is skipped only when the two
/// one-sided slopes differ by at least the mismatch (a kink inside the step explains it), and
/// the caller bounds how many may be skipped so the check cannot silently pass.
/// </summary>
internal sealed class GradientChecker(Func<double> loss, float eps = 1e-2f, double threshold = 1e-3)
{
    private readonly List<string> _failures = [];
    private double _maxError;

    public int Checked { get; private set; }
    public int Skipped { get; private set; }
    public int Retried { get; private set; }

    /// <summary>Checks elements <paramref name="indices"/> (all when null) of <paramref name="t"/>.</summary>
    public void Check(string name, Tensor t, float[] analytic, IEnumerable<int>? indices = null,
        Func<int, bool>? skip = null, bool detectKinks = false)
    {
        var host = t.ToArray();
        Assert.That(analytic.Length, Is.EqualTo(host.Length), $"{name}: gradient length");
        foreach (int i in indices ?? Enumerable.Range(0, host.Length))
        {
            if (skip?.Invoke(i) == true) { Skipped++; continue; }
            double a = analytic[i];
            var (numeric, _, _) = Differences(t, i, host[i], eps, centre: false);
            if (detectKinks && !T.Close(a, numeric, threshold))
            {
                Retried++;
                var (fine, right, left) = Differences(t, i, host[i], eps / 10, centre: true);
                numeric = fine;
                if (!T.Close(a, numeric, threshold) && Math.Abs(right - left) >= Math.Abs(a - numeric))
                {
                    Skipped++;
                    continue;
                }
            }
            Checked++;
            double scale = Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), 1.0);
            _maxError = Math.Max(_maxError, Math.Abs(a - numeric) / scale);
            if (!T.Close(a, numeric, threshold))
                _failures.Add($"{name}[{i}]: analytic {a:G7} numeric {numeric:G7}");
        }
    }

    // central difference, and with centre the right and left one-sided slopes
    private (double Central, double Right, double Left) Differences(Tensor t, int i, float orig, float h,
        bool centre)
    {
        t.Backend.Upload(t, [orig + h], i);
        double plus = loss();
        t.Backend.Upload(t, [orig - h], i);
        double minus = loss();
        t.Backend.Upload(t, [orig], i);
        // the actual step in float may differ slightly from h
        double up = (double)(orig + h) - orig, down = orig - (double)(orig - h);
        double central = (plus - minus) / (up + down);
        if (!centre) return (central, double.NaN, double.NaN);
        double mid = loss();
        return (central, (plus - mid) / up, (mid - minus) / down);
    }

    public void AssertPassed(int minChecked = 1, double maxSkippedFraction = 0.0)
    {
        Assert.That(Checked, Is.GreaterThanOrEqualTo(minChecked), "too few elements checked");
        Assert.That(Skipped, Is.LessThanOrEqualTo((int)Math.Floor(maxSkippedFraction * (Checked + Skipped))),
            $"too many elements skipped ({Skipped} of {Checked + Skipped})");
        Assert.That(_failures, Is.Empty,
            $"{_failures.Count} of {Checked} gradients off (max rel error {_maxError:G3}); first: " +
            string.Join("; ", _failures.Take(8)));
        TestContext.Out.WriteLine(
            $"gradient check: {Checked} checked, {Retried} retried with a smaller step, {Skipped} skipped, " +
            $"max rel error {_maxError:G3}");
    }
}

/// <summary>
/// One layer on the reference backend with a random input and the scalar loss
/// L = sum(output * R) for a fixed random R, so dL/dOutput = R.
/// </summary>
internal sealed class LayerHarness
{
    public LayerHarness(Layer layer, int batch, int[] itemShape, int seed, float inputScale = 1f)
    {
        Layer = layer;
        Backend = T.Reference();
        var rng = new Random(seed);
        layer.CreateParameters(Backend, "", itemShape, rng);
        X = Backend.Allocate([batch, .. itemShape]);
        DX = Backend.Allocate([batch, .. itemShape]);
        layer.Build(Backend, X, DX);
        T.FillRandom(X, rng, inputScale);
        // biases start at zero; random values make the bias path visible to the check
        foreach (var p in layer.Parameters) T.FillRandom(p.Value, rng, 0.5f);
        R = T.Random(layer.Output.Length, rng);
    }

    public Layer Layer { get; }
    public IBackend Backend { get; }
    public Tensor X { get; }
    public Tensor DX { get; }
    public float[] R { get; }
    public bool Training { get; set; }

    /// <summary>Runs before every forward (e.g. to pin a dropout seed).</summary>
    public Action? BeforeForward { get; set; }

    public double Loss()
    {
        BeforeForward?.Invoke();
        Layer.Forward(Training);
        var y = Layer.Output.ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y[i] * R[i];
        return s;
    }

    /// <summary>Forward then backward; returns the analytic input gradient and parameter gradients.</summary>
    public (float[] Input, float[][] Params) Gradients()
    {
        Loss();
        Backend.Upload(Layer.OutputGrad, R);
        Layer.Backward(BackwardMode.Full);
        return (DX.ToArray(), Layer.Parameters.Select(p => p.Grad.ToArray()).ToArray());
    }

    /// <summary>Checks every input element and every parameter element.</summary>
    public void CheckAll(float eps = 1e-2f, Func<int, bool>? skipInput = null)
    {
        var (dx, dps) = Gradients();
        var gc = new GradientChecker(Loss, eps);
        gc.Check("input", X, dx, skip: skipInput);
        for (int i = 0; i < dps.Length; i++) gc.Check(Layer.Parameters[i].Name, Layer.Parameters[i].Value, dps[i]);
        gc.AssertPassed(minChecked: X.Length / 2, maxSkippedFraction: 0.5);
    }
}
