namespace GcnNative.Layers;

/// <summary>A chain of layers; each layer's output is the next one's input.</summary>
public sealed class Sequential
{
    public Sequential(string name, IReadOnlyList<Layer> layers, int[] inputShape)
    {
        Name = name;
        Layers = layers;
        InputShape = inputShape;
        // shape errors from config files are reported with their spec by LayerSpec.Chain
        int[] shape = inputShape;
        foreach (var layer in layers) shape = layer.OutputShape(shape);
        OutputShape = shape;
    }

    public string Name { get; }
    public IReadOnlyList<Layer> Layers { get; }
    public int[] InputShape { get; }
    public int[] OutputShape { get; }

    public IEnumerable<Parameter> Parameters => Layers.SelectMany(l => l.Parameters);

    public Tensor Output { get; private set; } = null!;
    public Tensor OutputGrad { get; private set; } = null!;

    public void CreateParameters(IBackend backend, string prefix, Random init)
    {
        int[] shape = InputShape;
        for (int i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            try { layer.CreateParameters(backend, prefix + Name + ".", shape, init); }
            catch (ArgumentException e) when (e.Message.Contains("too large", StringComparison.Ordinal))
            {
                throw new GcnNative.Model.ConfigException($"{prefix}{Name}[{i}] ({layer.Describe()}): its weights are too large: {e.Message}");
            }
            shape = layer.OutputShape(shape);
        }
    }

    /// <summary>Allocates every activation and gradient for the batch of <paramref name="input"/>.</summary>
    public void Build(IBackend backend, Tensor input, Tensor? inputGrad)
    {
        if (Layers.Count == 0) throw new ArgumentException($"{Name}: a block needs at least one layer");
        Tensor x = input;
        Tensor? dx = inputGrad;
        for (int i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            try { layer.Build(backend, x, dx); }
            catch (ArgumentException e) when (e.Message.Contains("too large", StringComparison.Ordinal))
            {
                throw new GcnNative.Model.ConfigException(
                    $"{Name}[{i}] ({layer.Describe()}): its output at batch {input.Shape[0]} is too large: {e.Message}; lower its width or training.batch");
            }
            x = layer.Output;
            dx = layer.OutputGrad;
        }
        Output = x;
        OutputGrad = dx!;
    }

    public void Forward(bool training)
    {
        var timer = LayerTimer.Active;
        foreach (var layer in Layers)
        {
            long t0 = timer?.Start(layer) ?? 0;
            layer.Forward(training);
            timer?.Stop(Name, layer, forward: true, t0);
        }
    }

    /// <summary>
    /// Backward through every layer. Inner layers always pass the gradient on; the first
    /// layer writes its input gradient only when <paramref name="mode"/> asks for it.
    /// </summary>
    public void Backward(BackwardMode mode)
    {
        for (int i = Layers.Count - 1; i >= 0; i--)
        {
            bool needInput = i > 0 || mode.InputGradient;
            var timer = LayerTimer.Active;
            long t0 = timer?.Start(Layers[i]) ?? 0;
            Layers[i].Backward(new BackwardMode(needInput, mode.ParameterGradients));
            timer?.Stop(Name, Layers[i], forward: false, t0);
        }
    }
}

/// <summary>
/// Per-layer wall-clock timing for profiling (<c>gcn bench step --layers</c>). When
/// <see cref="Active"/> is set, every layer call synchronises the backend and is timed.
/// </summary>
public sealed class LayerTimer
{
    public static LayerTimer? Active { get; set; }

    public sealed class Entry
    {
        public required string Block { get; init; }
        public required Layer Layer { get; init; }
        public double ForwardMs { get; set; }
        public double BackwardMs { get; set; }
        public int ForwardCalls { get; set; }
        public int BackwardCalls { get; set; }
    }

    private readonly Dictionary<Layer, Entry> _entries = [];
    public IEnumerable<Entry> Entries => _entries.Values;

    public long Start(Layer layer)
    {
        layer.Backend.Synchronize();
        return System.Diagnostics.Stopwatch.GetTimestamp();
    }

    public void Stop(string block, Layer layer, bool forward, long start)
    {
        layer.Backend.Synchronize();
        double ms = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (!_entries.TryGetValue(layer, out var e)) _entries[layer] = e = new Entry { Block = block, Layer = layer };
        if (forward) { e.ForwardMs += ms; e.ForwardCalls++; }
        else { e.BackwardMs += ms; e.BackwardCalls++; }
    }
}
