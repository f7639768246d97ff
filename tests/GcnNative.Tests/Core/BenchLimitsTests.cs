using GcnNative.Benchmarking;
using GcnNative.Tests.Verify;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>
/// bench deconv and bench gemm check --batch before allocating: one tensor's element limit and
/// the memory of the largest case; and a call that alone fills its time budget is not repeated
/// eight times.
/// </summary>
[TestFixture]
public class BenchLimitsTests
{
    [Test]
    public void DeconvBatchBeyondOneTensorIsRefusedWithTheLargestThatFits()
    {
        string? why = BenchLimits.TooLarge("--batch", 100000, b => DeconvBench.Footprints(b), availableBytes: 0);
        Assert.That(why, Is.EqualTo("--batch 100000: face-uconv8 39->79 would need a tensor of 57417200000 elements, " +
                                    "more than one tensor holds (2147483647); the largest --batch that fits is 3740"));
        Assert.That(DeconvBench.Footprints(3740).Max(f => f.LargestTensor), Is.LessThanOrEqualTo(int.MaxValue));
        Assert.That(DeconvBench.Footprints(3741).Max(f => f.LargestTensor), Is.GreaterThan(int.MaxValue));
        Assert.That(BenchLimits.TooLarge("--batch", 8, b => DeconvBench.Footprints(b), availableBytes: 0), Is.Null);
    }

    [Test]
    public void GemmBatchBeyondOneTensorIsRefused()
    {
        string? why = BenchLimits.TooLarge("--batch", 1000000, GemmBench.Footprints, availableBytes: 0);
        Assert.That(why, Does.StartWith("--batch 1000000: faces fc 2048->16384 fwd would need a tensor of 16384000000 elements")
            .And.EndWith("the largest --batch that fits is 131071"));
    }

    [Test]
    public void BatchBeyondTheMemoryIsRefusedWithTheLargestThatFits()
    {
        const long available = 4_000_000_000;   // 3 GB may be planned for
        Assert.That(BenchLimits.TooLarge("--batch", 64, GemmBench.Footprints, available), Is.Null);
        string? why = BenchLimits.TooLarge("--batch", 20000, GemmBench.Footprints, available);
        Assert.That(why, Does.StartWith("--batch 20000: faces fc 2048->16384 fwd needs about 3.2 GB of memory, " +
                                        "more than 75% of the 4.0 GB this process may use; the largest --batch that fits is "));
        int largest = int.Parse(why!.Split(' ')[^1]);
        Assert.That(GemmBench.Footprints(largest).Max(f => f.Bytes), Is.LessThanOrEqualTo(3_000_000_000));
        Assert.That(GemmBench.Footprints(largest + 1).Max(f => f.Bytes), Is.GreaterThan(3_000_000_000));
        // the tensors and the host arrays they are filled from: 2 x (A + B + C) floats
        var fwd = new GemmShape("fwd", 20000, 16384, 2048, TransB: true).Footprint;
        Assert.That(fwd.Bytes, Is.EqualTo(4L * 2 * (20000L * 2048 + 2048L * 16384 + 20000L * 16384)));
    }

    /// <summary>A GEMM that takes 60 ms a call, counted.</summary>
    private sealed class SlowGemm : CpuDecorator
    {
        public int Calls;

        public override void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c)
        {
            Calls++;
            Thread.Sleep(60);
        }
    }

    [Test]
    public void ACallLongerThanItsBudgetIsTimedThreeTimesNotEight()
    {
        // at a very large batch each call takes seconds: 2 warm-up calls, 1 calibration and 5
        // rounds multiplied a run of minutes; one warm-up, the calibration and one round are enough
        var backend = new SlowGemm();
        var r = GemmBench.Run(backend, [new GemmShape("tiny", 2, 2, 2)], minSeconds: 0.05);
        Assert.That(backend.Calls, Is.EqualTo(3));
        Assert.That(r[0].Milliseconds, Is.InRange(55, 1000));
        // a short call still gets its warm-up and five rounds
        var quick = new SlowGemm();
        GemmBench.Run(quick, [new GemmShape("tiny", 2, 2, 2)], minSeconds: 1.0);
        Assert.That(quick.Calls, Is.GreaterThanOrEqualTo(2 + 1 + 5));
    }

    [Test]
    public void TheMinimumTimeOfALargeBatchIsKnownBeforeItRuns()
    {
        // 6 layers x 3 passes of 6.5 TFLOP x 3 calls at batch 2000: about 10 min at 100 GFLOP/s
        Assert.That(DeconvBench.MinimumSeconds(2000, 100), Is.InRange(500, 700));
        Assert.That(DeconvBench.MinimumSeconds(8, 100), Is.LessThan(60), "the default batch prints no warning");
        Assert.That(DeconvBench.MinimumSeconds(2000, 0), Is.EqualTo(0), "no peak (a GPU): no estimate");
    }
}
