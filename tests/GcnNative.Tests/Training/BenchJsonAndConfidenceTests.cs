using System.Text.Json;
using GcnNative.Benchmarking;
using GcnNative.Training;
using NUnit.Framework;

namespace GcnNative.Tests.Training;

/// <summary>Small output formats: the deconv and GEMM JSON lines carry times; confidences never read across the threshold.</summary>
[TestFixture]
public class BenchJsonAndConfidenceTests
{
    [Test]
    public void DeconvJsonHasTimesBesideTheRates()
    {
        var r = new DeconvResult(DeconvBench.Layers[4], 8, ForwardMs: 1.5, BackwardDataMs: 2.0, BackwardFilterMs: 3.0);
        using var doc = JsonDocument.Parse(DeconvBench.ToJson([r], 100));
        var layer = doc.RootElement.GetProperty("layers")[0];
        Assert.That(layer.GetProperty("name").GetString(), Is.EqualTo("mnist-uconv1 7->14"));
        Assert.That(layer.GetProperty("forward_ms").GetDouble(), Is.EqualTo(1.5));
        Assert.That(layer.GetProperty("backward_ms").GetDouble(), Is.EqualTo(5.0));
        Assert.That(layer.GetProperty("backward_data_ms").GetDouble(), Is.EqualTo(2.0));
        Assert.That(layer.GetProperty("backward_filter_ms").GetDouble(), Is.EqualTo(3.0));
        // the existing names stay
        Assert.That(layer.GetProperty("forward_gflops").GetDouble(), Is.EqualTo(Math.Round(r.ForwardGflops, 2)));
        Assert.That(layer.GetProperty("backward_gflops").GetDouble(), Is.EqualTo(Math.Round(r.BackwardGflops, 2)));
        Assert.That(doc.RootElement.GetProperty("peak_gflops").GetDouble(), Is.EqualTo(100));
    }

    [Test]
    public void GemmJsonHasTheTime()
    {
        var r = new GemmResult(new GemmShape("square 1024", 1024, 1024, 1024), 12.3456, 174.0, 70.1);
        using var doc = JsonDocument.Parse(GemmBench.ToJson([r], 248));
        var gemm = doc.RootElement.GetProperty("gemms")[0];
        Assert.That(gemm.GetProperty("ms").GetDouble(), Is.EqualTo(12.3456));
        Assert.That(gemm.GetProperty("gflops").GetDouble(), Is.EqualTo(174.0));
        Assert.That(gemm.GetProperty("name").GetString(), Is.EqualTo("square 1024"));
    }

    [TestCase(0.99999999973, 1.0, "0.9999999997")]   // printed "1" beside "none reached confidence 1"
    [TestCase(1.0, 1.0, "1.000")]                    // exactly the threshold: kept, and reads so
    [TestCase(0.87654, 0.9, "0.877")]
    [TestCase(0.90049, 0.9004, "0.9005")]            // F3 would read 0.900, below the threshold it passed
    [TestCase(0.89996, 0.9, "0.89996")]              // F3 would read 0.900, as if it had passed
    [TestCase(0.9996, 0.5, "0.9996")]                // below 1 never reads as 1.000
    public void ConfidenceReadsOnTheSideOfTheThresholdItIs(double confidence, double threshold, string text)
    {
        Assert.That(Augmentation.ConfidenceText(confidence, threshold), Is.EqualTo(text));
    }
}
