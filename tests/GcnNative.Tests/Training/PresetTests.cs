using GcnNative.Cpu;
using GcnNative.Model;
using GcnNative.Training;
using NUnit.Framework;

namespace GcnNative.Tests.Training;

/// <summary>The built-in presets parse and build into the networks the specification gives.</summary>
[TestFixture]
public class PresetTests
{
    [Test]
    public void AllPresetsAreListed() =>
        Assert.That(Presets.Names, Is.SupersetOf(new[] { "mnist", "mnist-small", "faces", "faces-small" }));

    [TestCase("mnist-small")]
    [TestCase("faces-small")]
    [TestCase("mnist")]
    [TestCase("faces")]
    public void PresetBuildsAndEndsInItsImage(string name)
    {
        var config = Presets.Load(name);
        using var cpu = new CpuBackend();
        var model = new GcnModel(config, cpu, batch: 1, seed: 1);
        Assert.That(model.Generator.Output.Shape, Is.EqualTo(new[] { 1, config.Image.Channels, config.Image.Height, config.Image.Width }));
        Assert.That(model.Classifier.Logits.Shape, Is.EqualTo(new[] { 1, config.Features.Sum(f => f.Classes) }));
    }

    [Test]
    public void MnistPresetIsTheSpecifiedNetwork()
    {
        var model = new GcnModel(Presets.Load("mnist"), new CpuBackend(), 1, 1);
        Assert.That(model.Generator.ConcatWidth, Is.EqualTo(1024));
        Assert.That(model.Generator.Trunk.Layers.Select(l => l.Describe()).Where(d => d.StartsWith("fc") || d.StartsWith("deconv")),
            Is.EqualTo(new[]
            {
                "fc 1024->1024", "fc 1024->1024", "fc 1024->12544",
                "deconv 256->128 k4 s2 p1 (7x7->14x14)", "deconv 128->3 k4 s2 p1 (14x14->28x28)",
            }));
        Assert.That(model.Classifier.Body.OutputShape, Is.EqualTo(new[] { 128, 6, 6 }));
        Assert.That(model.Classifier.Heads[0].Layers[0].Describe(), Is.EqualTo("fc 4608->512"));
        Assert.That(model.Config.Optimizer.Beta2, Is.EqualTo(0.995f));
    }

    [Test]
    public void FacesPresetIsThePaperNetwork()
    {
        var model = new GcnModel(Presets.Load("faces"), new CpuBackend(), 1, 1);
        Assert.That(model.Generator.ConcatWidth, Is.EqualTo(1280));
        var deconvs = model.Generator.Trunk.Layers.OfType<GcnNative.Layers.TransposedConvolution>().Select(l => l.Describe());
        Assert.That(deconvs, Is.EqualTo(new[]
        {
            "deconv 256->256 k5 s2 p0 (8x8->19x19)", "deconv 256->256 k5 s2 p1 (19x19->39x39)",
            "deconv 256->92 k5 s2 p1 (39x39->79x79)", "deconv 92->3 k2 s2 p0 (79x79->158x158)",
        }));
        // AlexNet body with the first stride reduced to 2: 96x74x74 after conv-1, 256x8x8 at the end
        Assert.That(model.Classifier.Body.Layers[0].OutputShape([3, 158, 158]), Is.EqualTo(new[] { 96, 74, 74 }));
        Assert.That(model.Classifier.Body.OutputShape, Is.EqualTo(new[] { 256, 8, 8 }));
        Assert.That(model.Classifier.Heads[0].Layers[0].Describe(), Is.EqualTo("fc 16384->1024"));
        Assert.That(model.Config.Optimizer.Beta2, Is.EqualTo(0.99f));
    }
}
