using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GcnNative.Model;

/// <summary>
/// A whole GCN experiment as data: image size, features, the two networks as layer specs
/// (see <see cref="LayerSpec"/>), the objective's weights, Adam and its step schedule, and
/// the training loop's cadence. Presets are such files; users may write their own.
/// </summary>
public sealed class GcnConfig
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public ImageConfig Image { get; set; } = new();
    public List<FeatureConfig> Features { get; set; } = [];
    public GeneratorConfig Generator { get; set; } = new();
    public ClassifierConfig Classifier { get; set; } = new();
    public ClassifierConfig? Evaluator { get; set; }
    public LossConfig Loss { get; set; } = new();
    public OptimizerConfig Optimizer { get; set; } = new();
    public TrainingConfig Training { get; set; } = new();

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,   // a field given twice is an error, not "the last one wins"
        RespectNullableAnnotations = true,  // "image": null is an error, not a missing section
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    public static GcnConfig Parse(string json, string source)
    {
        GcnConfig? c;
        try
        {
            c = JsonSerializer.Deserialize<GcnConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw ConfigJsonError.From(e, json, source);
        }
        if (c is null) throw new ConfigException($"{source}: the file must hold a JSON object (a config), got null");
        c.Validate(source);
        return c;
    }

    public static GcnConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: config file not found");
        return Parse(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public int FeatureIndex(string name) => Features.FindIndex(f => f.Name == name);

    /// <summary>
    /// Checks every field a run depends on, naming the field in the error: list entries are
    /// present, numbers finite and in range, layer specs well formed (their shapes are checked
    /// when the networks are built).
    /// </summary>
    public void Validate(string source)
    {
        void Need(bool ok, string field, string expected)
        {
            if (!ok) throw new ConfigException($"{source}: field '{field}' {expected}");
        }

        // a float from JSON is finite unless the text overflowed it (1e39 reads as infinity)
        void Number(float value, bool inRange, string field, string range) =>
            Need(float.IsFinite(value) && inRange, field, $"must be a finite number {range}, got {Describe(value)}");

        void Entries<T>(IReadOnlyList<T?> list, string field, string expected)
        {
            for (int i = 0; i < list.Count; i++)
                Need(list[i] is not null, $"{field}[{i}]", $"must be {expected}, got null");
        }

        void Layers(IReadOnlyList<string> specs, string field, int? classes = null)
        {
            Entries(specs, field, "a layer spec (a string)");
            LayerSpec.Parse(specs, $"{source}: {field}", classes);
        }

        Need(!string.IsNullOrWhiteSpace(Name), "name", "must be set");
        Need(Image.Channels is 1 or 3, "image.channels", "must be 1 or 3");
        Need(Image.Height > 0 && Image.Width > 0, "image.height/width", "must be positive");
        Entries(Features, "features", "an object");
        Need(Features.Count > 0, "features", "must list at least one feature");
        foreach (var f in Features)
        {
            Need(!string.IsNullOrWhiteSpace(f.Name), "features[].name", "must be set");
            Need(f.Classes > 1, $"features.{f.Name}.classes", "must be at least 2");
        }
        Need(Features.Select(f => f.Name).Distinct().Count() == Features.Count, "features", "has a repeated name");
        Need(Generator.Branch.Count > 0, "generator.branch", "must list layers");
        Layers(Generator.Branch, "generator.branch");
        foreach (var (key, specs) in Generator.BranchOverrides)
        {
            Need(FeatureIndex(key) >= 0, $"generator.branch_overrides.{key}", "names no feature");
            Need(specs is not null, $"generator.branch_overrides.{key}", "must be a list of layer specs, got null");
            Layers(specs!, $"generator.branch_overrides.{key}");
        }
        Need(Generator.Trunk.Count > 0, "generator.trunk", "must list layers");
        Layers(Generator.Trunk, "generator.trunk");
        Need(Classifier.Body.Count > 0, "classifier.body", "must list layers");
        Layers(Classifier.Body, "classifier.body");
        Need(Classifier.Head.Count > 0, "classifier.head", "must list layers");
        Layers(Classifier.Head, "classifier.head", classes: 2);
        Number(Classifier.Lr, Classifier.Lr is > 0 and <= 1, "classifier.lr", "greater than 0 and at most 1");
        Entries(Classifier.Features, "classifier.features", "a feature name");
        foreach (var (key, weight) in Loss.FeatureWeights)
        {
            Need(FeatureIndex(key) >= 0, $"loss.feature_weights.{key}", "names no feature");
            Number(weight, weight >= 0, $"loss.feature_weights.{key}", ">= 0");
        }
        Number(Loss.PixelWeight, Loss.PixelWeight >= 0, "loss.pixel_weight", ">= 0");
        Number(Loss.ClassificationWeight, Loss.ClassificationWeight >= 0, "loss.classification_weight", ">= 0");
        Need(Loss.ClassifierWarmup >= 0, "loss.classifier_warmup", "must be >= 0");
        Number(Optimizer.Lr, Optimizer.Lr is > 0 and <= 1, "optimizer.lr", "greater than 0 and at most 1");
        Number(Optimizer.Beta1, Optimizer.Beta1 is >= 0 and < 1, "optimizer.beta1", "from 0 to below 1");
        Number(Optimizer.Beta2, Optimizer.Beta2 is >= 0 and < 1, "optimizer.beta2", "from 0 to below 1");
        Number(Optimizer.Eps, Optimizer.Eps > 0, "optimizer.eps", "greater than 0");
        Need(Optimizer.LrStep > 0, "optimizer.lr_step", "must be positive");
        Number(Optimizer.LrGamma, Optimizer.LrGamma is > 0 and <= 1, "optimizer.lr_gamma", "greater than 0 and at most 1");
        Number(Optimizer.WeightDecay, Optimizer.WeightDecay >= 0, "optimizer.weight_decay", ">= 0");
        Need(Training.Batch > 0, "training.batch", "must be positive");
        Need(Training.Iterations > 0, "training.iterations", "must be positive");
        Need(Training.LogEvery > 0 && Training.SampleEvery > 0 && Training.CheckpointEvery > 0,
            "training.log_every/sample_every/checkpoint_every", "must be positive");
        if (Evaluator is { } e)
        {
            Need(e.Body.Count > 0 && e.Head.Count > 0, "evaluator.body/head", "must list layers");
            Layers(e.Body, "evaluator.body");
            Layers(e.Head, "evaluator.head", classes: 2);
            Need(e.Iterations > 0, "evaluator.iterations", "must be positive");
            Number(e.Lr, e.Lr is > 0 and <= 1, "evaluator.lr", "greater than 0 and at most 1");
            Entries(e.Features, "evaluator.features", "a feature name");
            foreach (var name in e.Features)
                Need(FeatureIndex(name) >= 0, $"evaluator.features.{name}", "names no feature");
        }
    }

    /// <summary>A value for an error message; infinity is what JSON text beyond a float's range reads as.</summary>
    private static string Describe(float value) =>
        float.IsFinite(value) ? value.ToString(CultureInfo.InvariantCulture)
        : float.IsNaN(value) ? "NaN"
        : $"a value beyond the range of a 32-bit float ({(value > 0 ? "above 3.4e38" : "below -3.4e38")})";
}

public sealed class ImageConfig
{
    public int Channels { get; set; } = 3;
    public int Height { get; set; }
    public int Width { get; set; }
    public int[] Shape => [Channels, Height, Width];
}

public sealed class FeatureConfig
{
    public string Name { get; set; } = "";
    public int Classes { get; set; }
}

public sealed class GeneratorConfig
{
    /// <summary>Layers applied to each feature's code (K_f values) before the concat.</summary>
    public List<string> Branch { get; set; } = [];

    /// <summary>Per-feature replacements of <see cref="Branch"/> (the faces net's narrower transformation branch).</summary>
    public Dictionary<string, List<string>> BranchOverrides { get; set; } = [];

    /// <summary>Layers after the concat, ending in the image.</summary>
    public List<string> Trunk { get; set; } = [];
}

public sealed class ClassifierConfig
{
    /// <summary>Shared layers from the image to a feature vector.</summary>
    public List<string> Body { get; set; } = [];

    /// <summary>Per-feature head; <c>fc classes</c> is the feature's class count.</summary>
    public List<string> Head { get; set; } = [];

    /// <summary>Evaluator only: training iterations on the real training images.</summary>
    public int Iterations { get; set; } = 2000;

    /// <summary>Evaluator only: Adam learning rate.</summary>
    public float Lr { get; set; } = 1e-3f;

    /// <summary>Evaluator only: the features it learns (all when empty).</summary>
    public List<string> Features { get; set; } = [];
}

public sealed class LossConfig
{
    /// <summary>lambda_pix, the weight of the Euclidean term.</summary>
    public float PixelWeight { get; set; } = 1f;

    /// <summary>lambda_cls, the weight of the classifier's cross-entropy in the generator's loss.</summary>
    public float ClassificationWeight { get; set; } = 10f;

    /// <summary>w_f per feature (1 when absent).</summary>
    public Dictionary<string, float> FeatureWeights { get; set; } = [];

    /// <summary>Iterations during which the generator uses the pixel term only while the classifier learns.</summary>
    public int ClassifierWarmup { get; set; }

    /// <summary>Also update the classifier from generated images (off by default: it would learn the generator's mistakes).</summary>
    public bool Cooperative { get; set; }
}

public sealed class OptimizerConfig
{
    public float Lr { get; set; } = 2e-4f;
    public float Beta1 { get; set; } = 0.9f;
    public float Beta2 { get; set; } = 0.995f;
    public float Eps { get; set; } = 1e-8f;

    /// <summary>lr = lr * lr_gamma ^ floor(iteration / lr_step).</summary>
    public int LrStep { get; set; } = 1000;
    public float LrGamma { get; set; } = 0.5f;
    public float WeightDecay { get; set; }

    public float LearningRateAt(int iteration) => (float)(Lr * Math.Pow(LrGamma, iteration / LrStep));
}

public sealed class TrainingConfig
{
    public int Batch { get; set; } = 64;
    public int Iterations { get; set; } = 40000;
    public int LogEvery { get; set; } = 100;
    public int SampleEvery { get; set; } = 1000;
    public int CheckpointEvery { get; set; } = 1000;
    public int Seed { get; set; } = 1;
}
