namespace GcnNative.Layers;

/// <summary>A chain of layers; each layer's output is the next one's input.</summary>
public sealed class Sequential
{
    public Sequential(string name, IReadOnlyList<Layer> layers, int[] inputShape)
    {
        Name = name;
        Layers = layers;
        InputShape = inputShape;
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
        foreach (var layer in Layers)
        {
            layer.CreateParameters(backend, prefix + Name + ".", shape, init);
            shape = layer.OutputShape(shape);
        }
    }

    /// <summary>Allocates every activation and gradient for the batch of <paramref name="input"/>.</summary>
    public void Build(IBackend backend, Tensor input, Tensor? inputGrad)
    {
        if (Layers.Count == 0) throw new ArgumentException($"{Name}: a block needs at least one layer");
        Tensor x = input;
        Tensor? dx = inputGrad;
        foreach (var layer in Layers)
        {
            layer.Build(backend, x, dx);
            x = layer.Output;
            dx = layer.OutputGrad;
        }
        Output = x;
        OutputGrad = dx!;
    }

    public void Forward(bool training)
    {
        foreach (var layer in Layers) layer.Forward(training);
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
            Layers[i].Backward(new BackwardMode(needInput, mode.ParameterGradients));
        }
    }
}
