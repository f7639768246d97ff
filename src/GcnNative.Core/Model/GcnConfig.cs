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
            string field = e.Path is null ? "" : e.Path.TrimStart('$', '.');
            string line = e.LineNumber is null ? "" : $" (line {e.LineNumber + 1})";
            string message = FirstLine(e.Message);
            int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
            if (cut > 0) message = message[..cut];
            if (message.Contains("could not be mapped", StringComparison.Ordinal))
                throw new ConfigException(
                    $"{source}: unknown field '{field}'{line}; check the spelling (`gcn presets --show mnist` prints every field)");
            throw new ConfigException($"{source}: invalid config at '{field}'{line}: {message}");
        }
        if (c is null) throw new ConfigException($"{source}: the file holds no config object");
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

    /// <summary>Checks every field a run depends on, naming the field in the error.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string field, string expected)
        {
            if (!ok) throw new ConfigException($"{source}: field '{field}' {expected}");
        }

        Need(!string.IsNullOrWhiteSpace(Name), "name", "must be set");
        Need(Image.Channels is 1 or 3, "image.channels", "must be 1 or 3");
        Need(Image.Height > 0 && Image.Width > 0, "image.height/width", "must be positive");
        Need(Features.Count > 0, "features", "must list at least one feature");
        foreach (var f in Features)
        {
            Need(!string.IsNullOrWhiteSpace(f.Name), "features[].name", "must be set");
            Need(f.Classes > 1, $"features.{f.Name}.classes", "must be at least 2");
        }
        Need(Features.Select(f => f.Name).Distinct().Count() == Features.Count, "features", "has a repeated name");
        Need(Generator.Branch.Count > 0, "generator.branch", "must list layers");
        foreach (var key in Generator.BranchOverrides.Keys)
            Need(FeatureIndex(key) >= 0, $"generator.branch_overrides.{key}", "names no feature");
        Need(Generator.Trunk.Count > 0, "generator.trunk", "must list layers");
        Need(Classifier.Body.Count > 0, "classifier.body", "must list layers");
        Need(Classifier.Head.Count > 0, "classifier.head", "must list layers");
        foreach (var key in Loss.FeatureWeights.Keys)
            Need(FeatureIndex(key) >= 0, $"loss.feature_weights.{key}", "names no feature");
        Need(Loss.PixelWeight >= 0 && Loss.ClassificationWeight >= 0, "loss.pixel_weight/classification_weight", "must be >= 0");
        Need(Loss.ClassifierWarmup >= 0, "loss.classifier_warmup", "must be >= 0");
        Need(Optimizer.Lr > 0, "optimizer.lr", "must be positive");
        Need(Optimizer.Beta1 is >= 0 and < 1 && Optimizer.Beta2 is >= 0 and < 1, "optimizer.beta1/beta2", "must be in [0, 1)");
        Need(Optimizer.Eps > 0, "optimizer.eps", "must be positive");
        Need(Optimizer.LrStep > 0, "optimizer.lr_step", "must be positive");
        Need(Optimizer.LrGamma is > 0 and <= 1, "optimizer.lr_gamma", "must be in (0, 1]");
        Need(Training.Batch > 0, "training.batch", "must be positive");
        Need(Training.Iterations > 0, "training.iterations", "must be positive");
        Need(Training.LogEvery > 0 && Training.SampleEvery > 0 && Training.CheckpointEvery > 0,
            "training.log_every/sample_every/checkpoint_every", "must be positive");
        if (Evaluator is { } e)
        {
            Need(e.Body.Count > 0 && e.Head.Count > 0, "evaluator.body/head", "must list layers");
            Need(e.Iterations > 0, "evaluator.iterations", "must be positive");
            foreach (var name in e.Features)
                Need(FeatureIndex(name) >= 0, $"evaluator.features.{name}", "names no feature");
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
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
