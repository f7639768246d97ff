using GcnNative.Cpu;
using GcnNative.Layers;
using GcnNative.Model;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>Layer specs and the JSON config: every kind parses; every error names the source and the field.</summary>
[TestFixture]
public class ConfigTests
{
    private const string Where = "my.json: classifier.body";

    [Test]
    public void EveryLayerKindParses()
    {
        var layers = LayerSpec.Parse(
        [
            "fc 256", "conv 64 k5 s2 p1", "deconv 128 k4 s2 p1", "lrelu 0.1", "maxpool k3 s2",
            "lrn 5 0.0001 0.75 2", "dropout 0.5", "reshape 256 7 7", "flatten", "fc classes", "conv 8 k3",
            "maxpool k2",
        ], Where, classes: 10);
        Assert.That(layers.Select(l => l.GetType()), Is.EqualTo(new[]
        {
            typeof(Linear), typeof(Convolution), typeof(TransposedConvolution), typeof(LeakyRelu), typeof(MaxPool),
            typeof(LocalResponseNorm), typeof(Dropout), typeof(Reshape), typeof(Reshape), typeof(Linear),
            typeof(Convolution), typeof(MaxPool),
        }));
        Assert.That(((Linear)layers[0]).OutFeatures, Is.EqualTo(256));
        var conv = (Convolution)layers[1];
        Assert.That((conv.OutChannels, conv.Kernel, conv.Stride, conv.Pad), Is.EqualTo((64, 5, 2, 1)));
        var deconv = (TransposedConvolution)layers[2];
        Assert.That((deconv.OutChannels, deconv.Kernel, deconv.Stride, deconv.Pad), Is.EqualTo((128, 4, 2, 1)));
        Assert.That(((LeakyRelu)layers[3]).Slope, Is.EqualTo(0.1f));
        var pool = (MaxPool)layers[4];
        Assert.That((pool.Kernel, pool.Stride), Is.EqualTo((3, 2)));
        Assert.That(((LocalResponseNorm)layers[5]).Params, Is.EqualTo(new LrnParams(5, 1e-4f, 0.75f, 2f)));
        Assert.That(((Dropout)layers[6]).Probability, Is.EqualTo(0.5f));
        Assert.That(((Reshape)layers[7]).ItemShape, Is.EqualTo(new[] { 256, 7, 7 }));
        Assert.That(((Reshape)layers[8]).ItemShape, Is.Null);
        Assert.That(((Linear)layers[9]).OutFeatures, Is.EqualTo(10));
        var defaults = (Convolution)layers[10];
        Assert.That((defaults.Stride, defaults.Pad), Is.EqualTo((1, 0)), "stride defaults to 1, pad to 0");
        Assert.That(((MaxPool)layers[11]).Stride, Is.EqualTo(1));
        Assert.That(layers.Select(l => l.Name), Is.EqualTo(Enumerable.Range(0, 12).Select(i => i.ToString())));
    }

    [Test]
    public void InitialisationFollowsTheNextActivation()
    {
        // weights feeding "lrelu a" are He-scaled for slope a, others for a linear output
        var layers = LayerSpec.Parse(["fc 4", "lrelu 0.2", "conv 3 k3", "fc 2"], Where);
        Assert.That(((Linear)layers[0]).InitSlope, Is.EqualTo(0.2f));
        Assert.That(((Convolution)layers[2]).InitSlope, Is.EqualTo(1f));
    }

    private static ConfigException ParseError(params string[] specs) =>
        Assert.Throws<ConfigException>(() => LayerSpec.Parse(specs, Where, null))!;

    [TestCase("pool k3 s2", "unknown layer 'pool'")]
    [TestCase("conv 64 s2 p1", "missing k")]
    [TestCase("deconv 64 p1", "missing k")]
    [TestCase("maxpool s2", "missing k")]
    [TestCase("conv k3", "integer")]
    [TestCase("fc", "integer")]
    [TestCase("fc 2.5", "integer")]
    [TestCase("fc classes", "classes")]
    [TestCase("lrelu x", "number")]
    [TestCase("lrn 5 0.0001 0.75", "number")]
    [TestCase("dropout 1.5", "probability")]
    [TestCase("dropout -0.1", "probability")]
    [TestCase("conv 0 k3", "positive")]
    [TestCase("conv 8 k3 s0", "positive")]
    [TestCase("reshape 4 x", "integer")]
    [TestCase("lrn 0 0.0001 0.75 2", "lrn size must be at least 1, got 0")]
    [TestCase("lrn 5 -0.0001 0.75 2", "lrn alpha must be a finite number >= 0, got -0.0001")]
    [TestCase("lrn 5 nan 0.75 2", "lrn alpha must be a finite number >= 0, got NaN")]
    [TestCase("lrn 5 0.0001 -0.75 2", "lrn beta must be a finite number >= 0, got -0.75")]
    [TestCase("lrn 5 0.0001 infinity 2", "lrn beta must be a finite number >= 0")]
    [TestCase("lrn 5 0.0001 0.75 0", "lrn k must be a finite number greater than 0, got 0")]
    [TestCase("lrn 5 0.0001 0.75 2 1", "unexpected '1' (expected lrn SIZE ALPHA BETA K)")]
    [TestCase("lrelu nan", "lrelu slope must be a finite number, got NaN")]
    [TestCase("lrelu -infinity", "lrelu slope must be a finite number")]
    [TestCase("lrelu 0.1 0.2", "unexpected '0.2' (expected lrelu SLOPE)")]
    [TestCase("maxpool k0 s2", "maxpool needs positive kernel and stride")]
    [TestCase("maxpool k3 s0", "maxpool needs positive kernel and stride")]
    [TestCase("maxpool k3 k2", "k<n> is given twice")]
    [TestCase("conv 8 k3 s1 s2", "s<n> is given twice")]
    [TestCase("deconv 8 k4 s2 p1 p0", "p<n> is given twice")]
    [TestCase("conv 8 k3 p-1", "pad >= 0")]
    [TestCase("dropout 0.5 0.2", "unexpected '0.2' (expected dropout PROBABILITY)")]
    [TestCase("dropout nan", "probability")]
    [TestCase("fc 4 8", "unexpected '8' (expected fc WIDTH or fc classes)")]
    [TestCase("flatten 3", "unexpected '3' (expected flatten alone)")]
    [TestCase("reshape -4 -1", "reshape needs one or more dimensions, each at least 1, got -4 -1")]
    [TestCase("reshape 0 4", "each at least 1")]
    public void BadSpecNamesTheFieldAndTheSpec(string spec, string expectation)
    {
        var e = ParseError("fc 4", spec);
        Assert.That(e.Message, Does.StartWith("my.json: classifier.body[1]"));
        Assert.That(e.Message, Does.Contain($"\"{spec}\""));
        Assert.That(e.Message, Does.Contain(expectation));
    }

    [TestCase("conv 8 k3 s2x")]
    [TestCase("conv 8 k3x")]
    [TestCase("deconv 8 k4 s2 p1.5")]
    [TestCase("maxpool k3 sx")]
    [TestCase("conv 8 k3 stride2")]
    public void MalformedOptionIsAnErrorNotADefault(string spec)
    {
        // a typo in an option must not silently fall back to stride 1 / pad 0 (or be ignored)
        var e = ParseError(spec);
        Assert.That(e.Message, Does.StartWith("my.json: classifier.body[0]"));
        Assert.That(e.Message, Does.Contain($"\"{spec}\""));
    }

    [Test]
    public void EmptySpecIsAnError()
    {
        var e = ParseError("   ");
        Assert.That(e.Message, Does.Contain("classifier.body[0]").And.Contain("empty"));
    }

    // ---- the JSON config --------------------------------------------------------------

    [Test]
    public void TinyConfigParsesWithItsValues()
    {
        var c = TinyConfig.Parse();
        Assert.That(c.Name, Is.EqualTo("tiny"));
        Assert.That(c.Image.Shape, Is.EqualTo(new[] { 3, 6, 6 }));
        Assert.That(c.Features.Select(f => (f.Name, f.Classes)), Is.EqualTo(new[] { ("shape", 3), ("colour", 2) }));
        Assert.That(c.Generator.BranchOverrides["colour"], Is.EqualTo(new[] { "fc 3", "lrelu 0.1" }));
        Assert.That(c.Loss.FeatureWeights["shape"], Is.EqualTo(1.5f));
        Assert.That((c.Loss.PixelWeight, c.Loss.ClassificationWeight), Is.EqualTo((0.3f, 0.7f)));
        Assert.That((c.Optimizer.Lr, c.Optimizer.Beta2, c.Optimizer.LrStep), Is.EqualTo((0.01f, 0.99f, 1000)));
        Assert.That((c.Training.Batch, c.Training.Iterations), Is.EqualTo((2, 30)));
        Assert.That(c.Training.Seed, Is.EqualTo(1), "absent fields keep their defaults");
    }

    [Test]
    public void ConfigRoundTripsThroughJson()
    {
        var c = TinyConfig.Parse();
        var again = GcnConfig.Parse(c.ToJson(), "again.json");
        Assert.That(again.ToJson(), Is.EqualTo(c.ToJson()));
    }

    private static ConfigException ConfigError(string json) =>
        Assert.Throws<ConfigException>(() => GcnConfig.Parse(json, "bad.json"))!;

    [Test]
    public void UnknownFeatureInFeatureWeights()
    {
        var e = ConfigError(TinyConfig.Json().Replace("\"colour\": 0.5", "\"color\": 0.5"));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("loss.feature_weights.color"));
    }

    [Test]
    public void UnknownFeatureInBranchOverrides()
    {
        var e = ConfigError(TinyConfig.Json().Replace("\"colour\": [ \"fc 3\"", "\"hue\": [ \"fc 3\""));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("generator.branch_overrides.hue"));
    }

    [Test]
    public void UnknownJsonFieldIsRejected()
    {
        var e = ConfigError(TinyConfig.Json().Replace("\"pixel_weight\"", "\"pixel_wieght\""));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("pixel_wieght"));
    }

    [Test]
    public void UnknownTopLevelFieldIsRejected()
    {
        var e = ConfigError(TinyConfig.Json().Replace("\"name\": \"tiny\"", "\"name\": \"tiny\", \"epochs\": 3"));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("epochs"));
    }

    [Test]
    public void WrongJsonTypeNamesThePath()
    {
        var e = ConfigError(TinyConfig.Json().Replace("\"lr\": 0.01", "\"lr\": \"fast\""));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("optimizer.lr"));
    }

    /// <summary>An edit of the tiny config, checked to apply.</summary>
    private static string Edited(string from, string to)
    {
        string json = TinyConfig.Json();
        Assert.That(json, Does.Contain(from), "the edit must apply");
        return json.Replace(from, to);
    }

    [TestCase("\"batch\": 2", "\"batch\": \"64\"", "field 'training.batch' (line 21) must be an integer, got the string \"64\"")]
    [TestCase("\"batch\": 2", "\"batch\": 2.5", "field 'training.batch' (line 21) must be an integer, got 2.5")]
    [TestCase("\"batch\": 2", "\"batch\": 1e10", "field 'training.batch' (line 21) must be an integer from -2147483648 to 2147483647, got 1e10")]
    [TestCase("\"batch\": 2", "\"batch\": null", "field 'training.batch' (line 21) must be an integer, got null")]
    [TestCase("\"lr\": 0.01", "\"lr\": [0.01]", "field 'optimizer.lr' (line 20) must be a number, got a list")]
    [TestCase("\"name\": \"tiny\"", "\"name\": 3", "field 'name' (line 3) must be a string, got 3")]
    [TestCase("\"image\": { \"channels\": 3, \"height\": 6, \"width\": 6 }", "\"image\": null",
        "field 'image' (line 4) must be an object, got null")]
    [TestCase("\"trunk\": [ \"fc 18\"", "\"trunk\": [ 18", "field 'generator.trunk[0]' (line 9) must be a string, got 18")]
    [TestCase("\"branch\": [ \"fc 4\", \"lrelu 0.1\" ]", "\"branch\": \"fc 4\"",
        "field 'generator.branch' (line 7) must be a list of strings, got the string \"fc 4\"")]
    [TestCase("\"feature_weights\": { \"shape\": 1.5", "\"feature_weights\": { \"shape\": \"high\"",
        "field 'loss.feature_weights.shape' (line 17) must be a number, got the string \"high\"")]
    [TestCase("\"classifier_warmup\": 0", "\"classifier_warmup\": 0, \"cooperative\": 1",
        "field 'loss.cooperative' (line 18) must be true or false, got 1")]
    [TestCase("\"training\": { \"batch\": 2, \"iterations\": 30 }", "\"training\": [ 2, 30 ]",
        "field 'training' (line 21) must be an object, got a list")]
    public void WrongJsonTypeSaysWhatTheFieldExpectsAndWhatItGot(string from, string to, string expected)
    {
        var e = ConfigError(Edited(from, to));
        Assert.That(e.Message, Is.EqualTo("bad.json: " + expected));
    }

    [TestCase("[]", "a list")]
    [TestCase("5", "5")]
    [TestCase("\"tiny\"", "the string \"tiny\"")]
    [TestCase("null", "null")]
    public void ConfigThatIsNotAnObjectSaysSo(string json, string got)
    {
        Assert.That(ConfigError(json).Message, Is.EqualTo($"bad.json: the file must hold a JSON object (a config), got {got}"));
    }

    [Test]
    public void EmptyConfigFileSaysSo()
    {
        Assert.That(ConfigError("  \n").Message, Is.EqualTo("bad.json: the file is empty; expected a JSON object (a config)"));
    }

    [TestCase("\"batch\": 2", "\"batch\": 2, \"batch\": 64", "key 'training.batch' (line 21) is given twice; give it once")]
    [TestCase("\"name\": \"tiny\"", "\"name\": \"tiny\", \"name\": \"small\"", "key 'name' (line 3) is given twice; give it once")]
    [TestCase("{ \"name\": \"colour\", \"classes\": 2 }", "{ \"name\": \"colour\", \"classes\": 2, \"classes\": 3 }",
        "key 'features[1].classes' (line 5) is given twice; give it once")]
    [TestCase("\"feature_weights\": { \"shape\": 1.5,", "\"feature_weights\": { \"shape\": 1.5, \"shape\": 2,",
        "key 'loss.feature_weights.shape' (line 17) is given twice; give it once")]
    public void KeyGivenTwiceIsNamedWithItsPath(string from, string to, string expected)
    {
        var e = ConfigError(Edited(from, to));
        Assert.That(e.Message, Is.EqualTo("bad.json: " + expected));
    }

    [TestCase("\"branch\": [ \"fc 4\"", "\"branch\": [ null", "field 'generator.branch[0]' must be a layer spec (a string), got null")]
    [TestCase("\"head\": [ \"fc 5\", \"lrelu 0.2\"", "\"head\": [ \"fc 5\", null",
        "field 'classifier.head[1]' must be a layer spec (a string), got null")]
    [TestCase("{ \"name\": \"shape\", \"classes\": 3 }", "null", "field 'features[0]' must be an object, got null")]
    [TestCase("\"colour\": [ \"fc 3\", \"lrelu 0.1\" ]", "\"colour\": null",
        "field 'generator.branch_overrides.colour' must be a list of layer specs, got null")]
    public void NullListEntryIsNamed(string from, string to, string expected)
    {
        var e = ConfigError(Edited(from, to));
        Assert.That(e.Message, Is.EqualTo("bad.json: " + expected));
    }

    [TestCase("\"lr\": 0.01", "\"lr\": 1e300", "optimizer.lr", "greater than 0 and at most 1, got a value beyond the range of a 32-bit float (above 3.4e38)")]
    [TestCase("\"lr\": 0.01", "\"lr\": 2", "optimizer.lr", "greater than 0 and at most 1, got 2")]
    [TestCase("\"lr\": 0.01", "\"lr\": 0", "optimizer.lr", "greater than 0 and at most 1, got 0")]
    [TestCase("\"pixel_weight\": 0.3", "\"pixel_weight\": 1e39", "loss.pixel_weight", ">= 0, got a value beyond the range of a 32-bit float (above 3.4e38)")]
    [TestCase("\"classification_weight\": 0.7", "\"classification_weight\": -1e39", "loss.classification_weight",
        ">= 0, got a value beyond the range of a 32-bit float (below -3.4e38)")]
    [TestCase("\"shape\": 1.5", "\"shape\": 1e39", "loss.feature_weights.shape", ">= 0, got a value beyond")]
    [TestCase("\"colour\": 0.5", "\"colour\": -0.5", "loss.feature_weights.colour", ">= 0, got -0.5")]
    [TestCase("\"beta1\": 0.9", "\"beta1\": 1e39", "optimizer.beta1", "from 0 to below 1, got a value beyond")]
    [TestCase("\"beta2\": 0.99", "\"beta2\": 1", "optimizer.beta2", "from 0 to below 1, got 1")]
    [TestCase("\"eps\": 1e-8", "\"eps\": 1e39", "optimizer.eps", "greater than 0, got a value beyond")]
    [TestCase("\"eps\": 1e-8", "\"eps\": 1e-50", "optimizer.eps", "greater than 0, got 0")]
    [TestCase("\"lr_gamma\": 0.5", "\"lr_gamma\": 1e39", "optimizer.lr_gamma", "greater than 0 and at most 1, got a value beyond")]
    [TestCase("\"lr_gamma\": 0.5", "\"lr_gamma\": 0.5, \"weight_decay\": 1e39", "optimizer.weight_decay", ">= 0, got a value beyond")]
    [TestCase("\"lr_gamma\": 0.5", "\"lr_gamma\": 0.5, \"weight_decay\": -0.1", "optimizer.weight_decay", ">= 0, got -0.1")]
    [TestCase("\"head\": [", "\"lr\": 1e39, \"head\": [", "classifier.lr", "greater than 0 and at most 1, got a value beyond")]
    [TestCase("\"loss\": {", "\"evaluator\": { \"body\": [ \"flatten\" ], \"head\": [ \"fc classes\" ], \"lr\": 1e39 }, \"loss\": {",
        "evaluator.lr", "greater than 0 and at most 1, got a value beyond")]
    public void EveryFloatFieldMustBeFiniteAndInRange(string from, string to, string field, string expectation)
    {
        var e = ConfigError(Edited(from, to));
        Assert.That(e.Message, Does.StartWith($"bad.json: field '{field}' must be a finite number {expectation}"));
    }

    [Test]
    public void AnInfiniteValueSetInCodeIsCaughtBeforeItReachesTheJsonWriter()
    {
        // the trainer validates again after its overrides; ToJson must never meet an infinity
        var c = TinyConfig.Parse();
        c.Loss.ClassificationWeight = float.PositiveInfinity;
        var e = Assert.Throws<ConfigException>(() => c.Validate("run"))!;
        Assert.That(e.Message, Does.StartWith("run: field 'loss.classification_weight' must be a finite number >= 0"));
    }

    [Test]
    public void BadLayerParametersAreFoundWhenTheConfigIsRead()
    {
        // before the data, the run folder or the device are touched (not at the first iteration)
        var e = ConfigError(Edited("\"lrn 3 0.5 0.75 2\"", "\"lrn 0 0.0001 0.75 2\""));
        Assert.That(e.Message, Is.EqualTo("bad.json: classifier.body[3] \"lrn 0 0.0001 0.75 2\": lrn size must be at least 1, got 0"));
    }

    [Test]
    public void MalformedJsonNamesTheSource()
    {
        var e = ConfigError("{ \"name\": ");
        Assert.That(e.Message, Does.StartWith("bad.json: invalid config"));
    }

    [TestCase("\"lr\": 0.01", "\"lr\": -1", "optimizer.lr")]
    [TestCase("\"beta2\": 0.99", "\"beta2\": 1", "optimizer.beta2")]
    [TestCase("\"lr_step\": 1000", "\"lr_step\": 0", "optimizer.lr_step")]
    [TestCase("\"lr_gamma\": 0.5", "\"lr_gamma\": 1.5", "optimizer.lr_gamma")]
    [TestCase("\"channels\": 3", "\"channels\": 2", "image.channels")]
    [TestCase("\"height\": 6", "\"height\": 0", "image.height/width")]
    [TestCase("\"classes\": 2", "\"classes\": 1", "features.colour.classes")]
    [TestCase("\"batch\": 2", "\"batch\": 0", "training.batch")]
    [TestCase("\"classifier_warmup\": 0", "\"classifier_warmup\": -1", "loss.classifier_warmup")]
    [TestCase("\"pixel_weight\": 0.3", "\"pixel_weight\": -0.3", "loss.pixel_weight")]
    [TestCase("{ \"name\": \"colour\", \"classes\": 2 }", "{ \"name\": \"shape\", \"classes\": 2 }", "repeated")]
    public void InvalidValueNamesTheField(string from, string to, string field)
    {
        string json = TinyConfig.Json();
        Assert.That(json, Does.Contain(from), "the edit must apply");
        var e = ConfigError(json.Replace(from, to));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain(field));
    }

    [Test]
    public void BadLayerInAConfigNamesTheFileTheNetworkAndTheLayer()
    {
        // found when the config is read; a config edited in code is checked again by the model
        var e = ConfigError(TinyConfig.Json().Replace("\"maxpool k2 s2\"", "\"maxpool s2\""));
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("classifier.body[2]").And.Contain("missing k"));
        var config = TinyConfig.Parse();
        config.Classifier.Body[2] = "maxpool s2";
        using var b = new CpuBackend(CpuPath.Reference, 1);
        e = Assert.Throws<ConfigException>(() => new GcnModel(config, b, 2, 1, "bad.json"))!;
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("classifier.body[2]").And.Contain("missing k"));
    }

    [Test]
    public void GeneratorThatMissesTheImageShapeIsAnError()
    {
        var config = GcnConfig.Parse(TinyConfig.Json().Replace("deconv 3 k2 s2 p0", "deconv 1 k2 s2 p0"), "bad.json");
        var e = Assert.Throws<ConfigException>(() =>
            new Generator(config.Generator, config.Image.Shape, config.Features, "bad.json"))!;
        Assert.That(e.Message, Does.StartWith("bad.json").And.Contain("generator.trunk").And.Contain("[3, 6, 6]"));
    }

    [Test]
    public void MissingConfigFile()
    {
        var e = Assert.Throws<ConfigException>(() => GcnConfig.Load("/nonexistent/dir/none.json"))!;
        Assert.That(e.Message, Does.Contain("/nonexistent/dir/none.json"));
    }
}
