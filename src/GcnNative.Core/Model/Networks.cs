using GcnNative.Layers;

namespace GcnNative.Model;

/// <summary>
/// The multi-task classifier: a shared body, then one head per feature whose logits are
/// laid side by side in <see cref="Logits"/> ([batch, sum of class counts]).
/// </summary>
public sealed class MultiHeadClassifier
{
    private Tensor[] _headInputGrads = [];

    public MultiHeadClassifier(string name, ClassifierConfig config, int[] imageShape,
        IReadOnlyList<FeatureConfig> features, string source)
    {
        Name = name;
        Features = features;
        Body = LayerSpec.Chain("body", config.Body, $"{source}: {name}.body", imageShape);
        var bodyShape = Body.OutputShape;
        Heads = features.Select(f => LayerSpec.Chain($"head.{f.Name}", config.Head, $"{source}: {name}.head", bodyShape,
            f.Classes)).ToArray();
        var heads = new LossHead[features.Count];
        int offset = 0;
        for (int f = 0; f < features.Count; f++)
        {
            if (Tensor.CountOf(Heads[f].OutputShape) != features[f].Classes)
                throw new ConfigException(
                    $"{source}: {name}.head must end in {features[f].Classes} values for '{features[f].Name}' (use 'fc classes')");
            heads[f] = new LossHead(offset, features[f].Classes, f, 1f);
            offset += features[f].Classes;
        }
        LossHeads = heads;
        TotalClasses = offset;
    }

    public string Name { get; }
    public IReadOnlyList<FeatureConfig> Features { get; }
    public Sequential Body { get; }
    public Sequential[] Heads { get; }
    public LossHead[] LossHeads { get; }
    public int TotalClasses { get; }

    public Tensor Input { get; private set; } = null!;
    public Tensor InputGrad { get; private set; } = null!;
    public Tensor Logits { get; private set; } = null!;
    public Tensor LogitsGrad { get; private set; } = null!;
    public IBackend Backend { get; private set; } = null!;

    public IEnumerable<Layer> AllLayers => Body.Layers.Concat(Heads.SelectMany(h => h.Layers));
    public IEnumerable<Parameter> Parameters => Body.Parameters.Concat(Heads.SelectMany(h => h.Parameters));

    public void CreateParameters(IBackend backend, Random init)
    {
        Body.CreateParameters(backend, Name + ".", init);
        foreach (var h in Heads) h.CreateParameters(backend, Name + ".", init);
    }

    public void Build(IBackend backend, int batch)
    {
        Backend = backend;
        Input = backend.Allocate([batch, .. Body.InputShape]);
        InputGrad = backend.Allocate([batch, .. Body.InputShape]);
        Body.Build(backend, Input, InputGrad);
        _headInputGrads = new Tensor[Heads.Length];
        for (int f = 0; f < Heads.Length; f++)
        {
            _headInputGrads[f] = backend.Allocate(Body.Output.Shape);
            Heads[f].Build(backend, Body.Output, _headInputGrads[f]);
        }
        Logits = backend.Allocate(batch, TotalClasses);
        LogitsGrad = backend.Allocate(batch, TotalClasses);
    }

    /// <summary>Classifies <see cref="Input"/> into <see cref="Logits"/>.</summary>
    public void Forward(bool training)
    {
        Body.Forward(training);
        int batch = Input.Batch;
        for (int f = 0; f < Heads.Length; f++)
        {
            Heads[f].Forward(training);
            var h = LossHeads[f];
            Backend.CopyColumns(Heads[f].Output, h.Classes, 0, Logits, TotalClasses, h.Offset, batch, h.Classes, false);
        }
    }

    /// <summary>From <see cref="LogitsGrad"/> to the parameters' gradients and/or <see cref="InputGrad"/>.</summary>
    public void Backward(BackwardMode mode)
    {
        int batch = Input.Batch;
        for (int f = 0; f < Heads.Length; f++)
        {
            var h = LossHeads[f];
            Backend.CopyColumns(LogitsGrad, TotalClasses, h.Offset, Heads[f].OutputGrad, h.Classes, 0, batch, h.Classes, false);
            Heads[f].Backward(new BackwardMode(true, mode.ParameterGradients));
        }
        // every head read the body's output: its gradient is the sum of theirs
        Backend.Copy(_headInputGrads[0], Body.OutputGrad);
        for (int f = 1; f < Heads.Length; f++) Backend.Axpy(1f, _headInputGrads[f], Body.OutputGrad);
        Body.Backward(mode);
    }
}

/// <summary>
/// The generator: one branch per feature maps that feature's code (one-hot, or mixed) to a
/// vector; the vectors are concatenated and the trunk turns them into an image.
/// </summary>
public sealed class Generator
{
    private int[] _branchWidths = [];

    public Generator(GeneratorConfig config, int[] imageShape, IReadOnlyList<FeatureConfig> features, string source)
    {
        Features = features;
        Branches = features.Select(f => LayerSpec.Chain($"branch.{f.Name}",
            config.BranchOverrides.GetValueOrDefault(f.Name, config.Branch),
            $"{source}: generator.branch({f.Name})", [f.Classes])).ToArray();
        _branchWidths = Branches.Select(b => Tensor.CountOf(b.OutputShape)).ToArray();
        ConcatWidth = _branchWidths.Sum();
        Trunk = LayerSpec.Chain("trunk", config.Trunk, $"{source}: generator.trunk", [ConcatWidth]);
        if (!Trunk.OutputShape.SequenceEqual(imageShape))
            throw new ConfigException(
                $"{source}: generator.trunk ends in {Tensor.ShapeString(Trunk.OutputShape)}, expected the image {Tensor.ShapeString(imageShape)}");
    }

    public IReadOnlyList<FeatureConfig> Features { get; }
    public Sequential[] Branches { get; }
    public Sequential Trunk { get; }
    public int ConcatWidth { get; }

    /// <summary>Per feature, the [batch, classes] code fed to its branch.</summary>
    public Tensor[] Codes { get; private set; } = [];
    public Tensor Output => Trunk.Output;
    public Tensor OutputGrad => Trunk.OutputGrad;
    public IBackend Backend { get; private set; } = null!;
    private Tensor _concat = null!;
    private Tensor _concatGrad = null!;

    public IEnumerable<Layer> AllLayers => Branches.SelectMany(b => b.Layers).Concat(Trunk.Layers);
    public IEnumerable<Parameter> Parameters => Branches.SelectMany(b => b.Parameters).Concat(Trunk.Parameters);

    public void CreateParameters(IBackend backend, Random init)
    {
        foreach (var b in Branches) b.CreateParameters(backend, "generator.", init);
        Trunk.CreateParameters(backend, "generator.", init);
    }

    public void Build(IBackend backend, int batch)
    {
        Backend = backend;
        Codes = Features.Select(f => backend.Allocate(batch, f.Classes)).ToArray();
        for (int f = 0; f < Branches.Length; f++) Branches[f].Build(backend, Codes[f], null);
        _concat = backend.Allocate(batch, ConcatWidth);
        _concatGrad = backend.Allocate(batch, ConcatWidth);
        Trunk.Build(backend, _concat, _concatGrad);
    }

    public void Forward(bool training)
    {
        int batch = _concat.Batch, offset = 0;
        for (int f = 0; f < Branches.Length; f++)
        {
            Branches[f].Forward(training);
            Backend.CopyColumns(Branches[f].Output, _branchWidths[f], 0, _concat, ConcatWidth, offset, batch, _branchWidths[f], false);
            offset += _branchWidths[f];
        }
        Trunk.Forward(training);
    }

    /// <summary>From <see cref="OutputGrad"/> to every parameter gradient.</summary>
    public void Backward()
    {
        Trunk.Backward(BackwardMode.Full);
        int batch = _concat.Batch, offset = 0;
        for (int f = 0; f < Branches.Length; f++)
        {
            Backend.CopyColumns(_concatGrad, ConcatWidth, offset, Branches[f].OutputGrad, _branchWidths[f], 0, batch, _branchWidths[f], false);
            offset += _branchWidths[f];
            Branches[f].Backward(new BackwardMode(false, true));
        }
    }
}
