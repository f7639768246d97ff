using GcnNative.IO;
using GcnNative.Layers;

namespace GcnNative.Model;

/// <summary>Loss terms of one iteration, read back from the backend.</summary>
public sealed record IterationLosses(
    float ClassifierLoss, float[] ClassifierCe, float[] ClassifierAccuracy,
    float GeneratorLoss, float Pixel, float[] GeneratedCe, float[] GeneratedAccuracy,
    float ClassificationWeight, float LearningRate)
{
    public bool IsFinite =>
        float.IsFinite(ClassifierLoss) && float.IsFinite(GeneratorLoss) && float.IsFinite(Pixel);
}

/// <summary>
/// A GCN on one backend at one batch size: the generator, the multi-task classifier,
/// every buffer of an iteration, and both Adam optimisers. One iteration is
/// <list type="number">
/// <item>classifier step: L_C = sum_f w_f CE_f(C(real)) on the real batch, Adam on C;</item>
/// <item>generator step: L_G = lambda_pix E(G(codes), real) + lambda_cls sum_f w_f CE_f(C(G(codes))),
/// the gradient flows through C (its weights untouched unless cooperative), Adam on G.</item>
/// </list>
/// </summary>
public sealed class GcnModel
{
    private readonly LossHead[] _heads;
    private readonly float[] _clsTermsHost;
    private readonly float[] _genTermsHost;
    private readonly Random _init;

    public GcnModel(GcnConfig config, IBackend backend, int batch, int seed, string source = "config")
    {
        Config = config;
        Backend = backend;
        Batch = batch;
        _init = new Random(seed);
        var image = config.Image.Shape;
        Generator = new Generator(config.Generator, image, config.Features, source);
        Classifier = new MultiHeadClassifier("classifier", config.Classifier, image, config.Features, source);
        Generator.CreateParameters(backend, _init);
        Classifier.CreateParameters(backend, _init);
        try { Generator.Build(backend, batch); }
        catch (ConfigException e) { throw new ConfigException($"{source}: generator.{e.Message}"); }
        try { Classifier.Build(backend, batch); }
        catch (ConfigException e) { throw new ConfigException($"{source}: classifier.{e.Message}"); }
        SeedDropout(Classifier.AllLayers, (ulong)seed);

        int m = config.Features.Count;
        _heads = Classifier.LossHeads.Select(h => h with
        {
            Weight = config.Loss.FeatureWeights.GetValueOrDefault(config.Features[h.LabelColumn].Name, 1f),
        }).ToArray();
        Labels = backend.Allocate(batch, m);
        Real = backend.Allocate([batch, .. image]);
        ClassifierTerms = backend.Allocate(2 * m + 2);
        GeneratorTerms = backend.Allocate(2 * m + 2);
        _clsTermsHost = new float[2 * m + 2];
        _genTermsHost = new float[2 * m + 2];
    }

    public GcnConfig Config { get; }
    public IBackend Backend { get; }
    public int Batch { get; }
    public Generator Generator { get; }
    public MultiHeadClassifier Classifier { get; }

    /// <summary>[batch, features]: class index per feature (as float).</summary>
    public Tensor Labels { get; }

    /// <summary>[batch, C, H, W]: the real images of the batch.</summary>
    public Tensor Real { get; }

    public Tensor ClassifierTerms { get; }
    public Tensor GeneratorTerms { get; }

    /// <summary>Adam steps taken so far (t in the bias corrections).</summary>
    public int Step { get; set; }

    public IEnumerable<Parameter> Parameters => Generator.Parameters.Concat(Classifier.Parameters);

    private IEnumerable<Dropout> DropoutLayers => Generator.AllLayers.Concat(Classifier.AllLayers).OfType<Dropout>();

    public long ParameterCount(IEnumerable<Parameter> ps) => ps.Sum(p => (long)p.Value.Length);

    public static void SeedDropout(IEnumerable<Layer> layers, ulong seed)
    {
        ulong s = seed * 0x9E3779B97F4A7C15UL + 1;
        foreach (var d in layers.OfType<Dropout>()) d.Seed = s += 0x632BE59BD9B4E019UL;
    }

    /// <summary>
    /// One training iteration on the batch already uploaded to <see cref="Generator"/>.Codes,
    /// <see cref="Labels"/> and <see cref="Real"/>. Returns the loss terms when
    /// <paramref name="readLosses"/> (a host synchronisation on devices), else null.
    /// </summary>
    public IterationLosses? TrainIteration(int iteration, bool readLosses)
    {
        var loss = Config.Loss;
        float lr = Config.Optimizer.LearningRateAt(iteration);
        Step++;

        // classifier step on the real batch
        Backend.Copy(Real, Classifier.Input);
        Classifier.Forward(training: true);
        Backend.WeightedLoss(Classifier.Logits, Labels, _heads, 1f, Classifier.LogitsGrad, null, null, 0f, null, ClassifierTerms);
        Classifier.Backward(new BackwardMode(false, true));
        AdamStep(Classifier.Parameters, lr, Config.Optimizer.WeightDecay);

        // generator step through the classifier
        float lambda = iteration < loss.ClassifierWarmup ? 0f : loss.ClassificationWeight;
        Generator.Forward(training: true);
        bool throughClassifier = lambda > 0 || readLosses;
        if (throughClassifier)
        {
            Backend.Copy(Generator.Output, Classifier.Input);
            Classifier.Forward(training: true);
        }
        Backend.WeightedLoss(Classifier.Logits, Labels, throughClassifier ? _heads : [], lambda,
            Classifier.LogitsGrad, Generator.Output, Real, loss.PixelWeight, Generator.OutputGrad, GeneratorTerms);
        if (lambda > 0)
        {
            Classifier.Backward(new BackwardMode(true, loss.Cooperative));
            Backend.Axpy(1f, Classifier.InputGrad, Generator.OutputGrad);
            if (loss.Cooperative) AdamStep(Classifier.Parameters, lr, Config.Optimizer.WeightDecay);
        }
        Generator.Backward();
        AdamStep(Generator.Parameters, lr, 0f);

        if (!readLosses) return null;
        return ReadLosses(lambda, lr, throughClassifier);
    }

    private IterationLosses ReadLosses(float lambda, float lr, bool haveGeneratedCe)
    {
        int m = Config.Features.Count;
        Backend.Download(ClassifierTerms, _clsTermsHost);
        Backend.Download(GeneratorTerms, _genTermsHost);
        float[] Slice(float[] a, int from) => a.AsSpan(from, m).ToArray();
        float[] Acc(float[] a) => a.AsSpan(m + 2, m).ToArray().Select(c => c / Batch).ToArray();
        float pixel = haveGeneratedCe ? _genTermsHost[m] : _genTermsHost[0];
        float genTotal = haveGeneratedCe ? _genTermsHost[m + 1] : _genTermsHost[1];
        return new IterationLosses(
            _clsTermsHost[m + 1], Slice(_clsTermsHost, 0), Acc(_clsTermsHost),
            genTotal, pixel,
            haveGeneratedCe ? Slice(_genTermsHost, 0) : new float[m],
            haveGeneratedCe ? Acc(_genTermsHost) : new float[m],
            lambda, lr);
    }

    private void AdamStep(IEnumerable<Parameter> ps, float lr, float weightDecay)
    {
        var o = Config.Optimizer;
        var step = new AdamStep(lr, o.Beta1, o.Beta2, o.Eps, Step, weightDecay);
        foreach (var p in ps) Backend.AdamUpdate(p.Value, p.Grad, p.M, p.V, step);
    }

    /// <summary>Generates images for the codes already in <see cref="Generator"/>.Codes (inference mode).</summary>
    public void GenerateCurrent() => Generator.Forward(training: false);

    // ---- checkpoints --------------------------------------------------------------

    /// <summary>
    /// Tensor names: every parameter by its graph name (<c>generator.trunk.0.weight</c>,
    /// <c>classifier.head.digit.3.bias</c>, ...) and, with optimiser state, <c>adam.m.NAME</c>
    /// and <c>adam.v.NAME</c>. Metadata: format, iteration, adam_step, config (JSON),
    /// dropout_seeds (each dropout layer's next seed, comma-separated, restored on load).
    /// </summary>
    public void SaveCheckpoint(string path, int iteration, bool withOptimizerState,
        IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var list = new List<(string, int[], float[])>();
        foreach (var p in Parameters)
        {
            list.Add((p.Name, p.Value.Shape, p.Value.ToArray()));
            if (withOptimizerState)
            {
                list.Add(("adam.m." + p.Name, p.M.Shape, p.M.ToArray()));
                list.Add(("adam.v." + p.Name, p.V.Shape, p.V.ToArray()));
            }
        }
        var meta = new Dictionary<string, string>
        {
            ["format"] = "gcnnative-checkpoint-1",
            ["iteration"] = iteration.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["adam_step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["config"] = Config.ToJson(),
            // each dropout layer's next seed, so a resumed run draws the masks the run would have drawn
            ["dropout_seeds"] = string.Join(",",
                DropoutLayers.Select(d => d.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        };
        if (extraMetadata is not null) foreach (var (k, v) in extraMetadata) meta[k] = v;
        SafeTensors.Save(path, list, meta);
    }

    /// <summary>The config a loaded checkpoint was trained with, as saved in its metadata (null before a load, or if absent).</summary>
    public string? LoadedConfigJson { get; private set; }

    /// <summary>Loads parameters (and optimiser state when present); returns the iteration saved.</summary>
    public int LoadCheckpoint(string path, bool requireOptimizerState)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        foreach (var p in Parameters)
        {
            Upload(path, tensors, p.Name, p.Value);
            if (tensors.ContainsKey("adam.m." + p.Name))
            {
                Upload(path, tensors, "adam.m." + p.Name, p.M);
                Upload(path, tensors, "adam.v." + p.Name, p.V);
            }
            else if (requireOptimizerState)
            {
                throw new InvalidDataException($"{path}: no optimiser state for '{p.Name}' (cannot resume)");
            }
        }
        if (meta.TryGetValue("dropout_seeds", out var seeds))
        {
            var dropouts = DropoutLayers.ToArray();
            string[] parts = seeds.Length == 0 ? [] : seeds.Split(',');
            if (parts.Length != dropouts.Length)
                throw new InvalidDataException($"{path}: {parts.Length} dropout seeds for {dropouts.Length} dropout layers");
            for (int i = 0; i < parts.Length; i++)
            {
                if (!ulong.TryParse(parts[i], System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out ulong seed))
                    throw new InvalidDataException($"{path}: dropout seed '{parts[i]}' is not an unsigned integer");
                dropouts[i].Seed = seed;
            }
        }
        Step = meta.TryGetValue("adam_step", out var s) ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;
        LoadedConfigJson = meta.GetValueOrDefault("config");
        return meta.TryGetValue("iteration", out var it) ? int.Parse(it, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private void Upload(string path, Dictionary<string, SafeTensors.LoadedTensor> tensors, string name, Tensor dst)
    {
        if (!tensors.TryGetValue(name, out var t))
            throw new InvalidDataException($"{path}: tensor '{name}' is missing (checkpoint of another architecture?)");
        if (!t.Shape.SequenceEqual(dst.Shape))
            throw new InvalidDataException(
                $"{path}: tensor '{name}' has shape {Tensor.ShapeString(t.Shape)}, the model expects {Tensor.ShapeString(dst.Shape)}");
        Backend.Upload(dst, t.Data);
    }
}
