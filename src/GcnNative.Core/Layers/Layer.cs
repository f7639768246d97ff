namespace GcnNative.Layers;

/// <summary>A trainable tensor with its gradient and Adam moments, all allocated once.</summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor value, Tensor grad, Tensor m, Tensor v)
    {
        Name = name;
        Value = value;
        Grad = grad;
        M = m;
        V = v;
    }

    /// <summary>Stable checkpoint name, e.g. <c>generator.trunk.0.weight</c>.</summary>
    public string Name { get; }
    public Tensor Value { get; }
    public Tensor Grad { get; }
    public Tensor M { get; }
    public Tensor V { get; }

    public static Parameter Create(IBackend backend, string name, params int[] shape) =>
        new(name, backend.Allocate(shape), backend.Allocate(shape), backend.Allocate(shape), backend.Allocate(shape));
}

/// <summary>What a backward pass must produce.</summary>
public readonly record struct BackwardMode(bool InputGradient, bool ParameterGradients)
{
    public static readonly BackwardMode Full = new(true, true);
    public static readonly BackwardMode DataOnly = new(true, false);
}

/// <summary>
/// A layer of the graph. <see cref="Build"/> is called once per batch size: it receives the
/// input tensor (owned by the previous layer) and allocates the output, the output
/// gradient and every workspace, so Forward and Backward allocate nothing.
/// Backward reads <see cref="OutputGrad"/> and writes <see cref="InputGrad"/> (when the
/// input has a gradient buffer) and the parameters' gradients (overwritten, not accumulated).
/// </summary>
public abstract class Layer
{
    protected Layer(string name) => Name = name;

    /// <summary>Name inside its block, e.g. <c>trunk.3</c>; parameters are prefixed with it.</summary>
    public string Name { get; }

    /// <summary>A short description for the settings table, e.g. <c>conv 3->64 k5 s1 p2</c>.</summary>
    public abstract string Describe();

    /// <summary>Output shape of one item for the given item input shape (no batch dimension).</summary>
    public abstract int[] OutputShape(int[] inputShape);

    public IBackend Backend { get; private set; } = null!;
    public Tensor Input { get; private set; } = null!;
    public Tensor? InputGrad { get; private set; }
    public Tensor Output { get; protected set; } = null!;
    public Tensor OutputGrad { get; protected set; } = null!;
    public int BatchSize => Input.Batch;

    public virtual IReadOnlyList<Parameter> Parameters => [];

    /// <summary>Forward multiply-add count times two, per batch (for the per-layer table).</summary>
    public virtual double ForwardFlops => 0;

    public void Build(IBackend backend, Tensor input, Tensor? inputGrad)
    {
        Backend = backend;
        Input = input;
        InputGrad = inputGrad;
        int[] item = input.Shape[1..];
        int[] outItem = OutputShape(item);
        int[] full = [input.Batch, .. outItem];
        Allocate(full);
    }

    /// <summary>Allocates Output/OutputGrad (in-place layers may alias) and workspaces.</summary>
    protected virtual void Allocate(int[] outputShape)
    {
        Output = Backend.Allocate(outputShape);
        OutputGrad = Backend.Allocate(outputShape);
    }

    /// <summary>Creates this layer's parameters and fills them from <paramref name="init"/>.</summary>
    public virtual void CreateParameters(IBackend backend, string prefix, int[] inputShape, Random init) { }

    public abstract void Forward(bool training);

    public abstract void Backward(BackwardMode mode);

    protected static void Require(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }

    /// <summary>He-uniform fill: U(-b, b), b = sqrt(6 / ((1 + a^2) fanIn)) for a LeakyReLU of slope a.</summary>
    protected static void HeUniform(IBackend backend, Tensor t, int fanIn, Random rng, float slope)
    {
        double bound = Math.Sqrt(6.0 / ((1 + slope * slope) * Math.Max(1, fanIn)));
        var host = new float[t.Length];
        for (int i = 0; i < host.Length; i++) host[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        backend.Upload(t, host);
    }
}
