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

    /// <summary>
    /// Downloads what <see cref="GenerateCurrent"/> made. A value that is not finite (finite
    /// weights can still overflow) is an <see cref="InvalidDataException"/> naming the checkpoint
    /// loaded, rather than a black picture or a NaN measurement.
    /// </summary>
    public float[] GeneratedImages()
    {
        var images = Generator.Output.ToArray();
        if (DescribeNonFinite(images) is { } bad)
            throw new InvalidDataException(
                $"{LoadedCheckpoint ?? "the generator"}: a generated image holds {bad}: the weights overflow, nothing sensible can be drawn or measured");
        return images;
    }

    // ---- checkpoints --------------------------------------------------------------

    /// <summary>
    /// Tensor names: every parameter by its graph name (<c>generator.trunk.0.weight</c>,
    /// <c>classifier.head.digit.3.bias</c>, ...) and, with optimiser state, <c>adam.m.NAME</c>
    /// and <c>adam.v.NAME</c>. Metadata: format, iteration, adam_step, config (JSON),
    /// dropout_seeds (each dropout layer's next seed, comma-separated, restored on load), and
    /// whatever <paramref name="extraMetadata"/> adds (the trainer: data_hash and split).
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
        // a diverged model is not saved over the last good checkpoint (no load would accept it)
        foreach (var (name, _, data) in list)
            if (DescribeNonFinite(data) is { } bad)
                throw new InvalidDataException($"{path}: not saved: tensor '{name}' holds {bad}");
        var meta = new Dictionary<string, string>
        {
            ["format"] = CheckpointFormat,
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

    /// <summary>The metadata of the checkpoint last loaded (null before a load).</summary>
    public IReadOnlyDictionary<string, string>? LoadedMetadata { get; private set; }

    /// <summary>The config a loaded checkpoint was trained with, as saved in its metadata (null before a load, or if absent).</summary>
    public string? LoadedConfigJson { get; private set; }

    /// <summary>The checkpoint loaded last (null before a load).</summary>
    public string? LoadedCheckpoint { get; private set; }

    /// <summary>The iteration recorded by the checkpoint loaded last (0 before a load).</summary>
    public int LoadedIteration { get; private set; }

    /// <summary>The checkpoint format this class writes (metadata <c>format</c>).</summary>
    public const string CheckpointFormat = "gcnnative-checkpoint-1";

    /// <summary>
    /// Loads parameters (and optimiser state when present); returns the iteration saved. Every
    /// value must be finite (and Adam's second moments >= 0), and the metadata is checked (see
    /// <see cref="ReadProgress"/>): a damaged checkpoint is an error naming the file and the
    /// tensor or field, never a model that generates black images or trains on NaN.
    /// </summary>
    public int LoadCheckpoint(string path, bool requireOptimizerState)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        var (iteration, adamStep) = ReadProgress(path, meta, requireOptimizerState);
        LoadedMetadata = meta;
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
        Step = adamStep;
        LoadedConfigJson = meta.GetValueOrDefault("config");
        LoadedIteration = iteration;
        LoadedCheckpoint = path;
        return iteration;
    }

    /// <summary>
    /// The iteration and Adam step a checkpoint's metadata records (0 when absent), checked:
    /// <c>format</c>, when present, is <see cref="CheckpointFormat"/>; <c>iteration</c> and
    /// <c>adam_step</c> are whole numbers >= 0; and for a resume (<paramref name="resume"/>),
    /// where the step sets Adam's bias correction, they are equal, as each iteration takes one
    /// Adam step. A damaged field is an <see cref="InvalidDataException"/> naming the file and the field.
    /// </summary>
    public static (int Iteration, int AdamStep) ReadProgress(string path, IReadOnlyDictionary<string, string> meta, bool resume)
    {
        if (meta.TryGetValue("format", out var format) && format != CheckpointFormat)
            throw new InvalidDataException($"{path}: metadata field 'format' is '{format}', expected '{CheckpointFormat}' (not a gcn checkpoint)");
        int iteration = WholeNumber(path, meta, "iteration");
        int adamStep = WholeNumber(path, meta, "adam_step");
        if (resume && meta.ContainsKey("iteration") && meta.ContainsKey("adam_step") && adamStep != iteration)
            throw new InvalidDataException(
                $"{path}: metadata field 'adam_step' is {adamStep} but 'iteration' is {iteration}; a checkpoint gcn train writes has them equal (one Adam step per iteration)");
        return (iteration, adamStep);
    }

    /// <summary>The iteration a checkpoint file records, checked as <see cref="ReadProgress"/> does.</summary>
    public static int CheckpointIteration(string path) => ReadProgress(path, SafeTensors.Load(path).Metadata, resume: false).Iteration;

    private static int WholeNumber(string path, IReadOnlyDictionary<string, string> meta, string field)
    {
        if (!meta.TryGetValue(field, out var text)) return 0;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value))
            throw new InvalidDataException($"{path}: metadata field '{field}' must be a whole number >= 0, got '{text}'");
        return value;
    }

    /// <summary>What is wrong with <paramref name="data"/>'s first value that is not finite ("NaN (value 3 of 40)"); null when all are.</summary>
    public static string? DescribeNonFinite(ReadOnlySpan<float> data)
    {
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
                return $"{(float.IsNaN(data[i]) ? "NaN" : data[i] > 0 ? "+infinity" : "-infinity")} (value {i + 1} of {data.Length})";
        return null;
    }

    private void Upload(string path, Dictionary<string, SafeTensors.LoadedTensor> tensors, string name, Tensor dst)
    {
        if (!tensors.TryGetValue(name, out var t))
            throw new InvalidDataException($"{path}: tensor '{name}' is missing (checkpoint of another architecture?)");
        if (!t.Shape.SequenceEqual(dst.Shape))
            throw new InvalidDataException(
                $"{path}: tensor '{name}' has shape {Tensor.ShapeString(t.Shape)}, the model expects {Tensor.ShapeString(dst.Shape)}");
        if (DescribeNonFinite(t.Data) is { } bad)
            throw new InvalidDataException($"{path}: tensor '{name}' holds {bad}; a checkpoint holds finite numbers only (damaged, or saved from a diverged run)");
        // Adam's second moments are running means of squares; a negative one makes the update NaN
        if (name.StartsWith("adam.v.", StringComparison.Ordinal))
            for (int i = 0; i < t.Data.Length; i++)
                if (t.Data[i] < 0)
                    throw new InvalidDataException(
                        $"{path}: tensor '{name}' holds {t.Data[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} (value {i + 1} of {t.Data.Length}); Adam's second moments are never negative");
        Backend.Upload(dst, t.Data);
    }
}
