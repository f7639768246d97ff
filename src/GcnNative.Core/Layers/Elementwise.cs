namespace GcnNative.Layers;

/// <summary>y = x &gt; 0 ? x : slope x.</summary>
public sealed class LeakyRelu : Layer
{
    public LeakyRelu(string name, float slope) : base(name)
    {
        // "lrelu nan" or "lrelu inf" parse as numbers and would turn every activation into NaN
        Require(float.IsFinite(slope), $"{name}: lrelu slope must be a finite number, got {slope}");
        Slope = slope;
    }

    public float Slope { get; }
    public override string Describe() => $"lrelu {Slope}";
    public override int[] OutputShape(int[] inputShape) => inputShape;
    public override void Forward(bool training) => Backend.LeakyReluForward(Input, Output, Slope);

    public override void Backward(BackwardMode mode)
    {
        if (mode.InputGradient && InputGrad is not null)
            Backend.LeakyReluBackward(Input, OutputGrad, InputGrad, Slope);
    }
}

/// <summary>Max pooling, square window, floor output size; the gradient goes to the first maximum.</summary>
public sealed class MaxPool : Layer
{
    private PoolGeometry _g;

    public MaxPool(string name, int kernel, int stride) : base(name)
    {
        Require(kernel > 0 && stride > 0, $"{name}: maxpool needs positive kernel and stride");
        Kernel = kernel;
        Stride = stride;
    }

    public int Kernel { get; }
    public int Stride { get; }
    public override string Describe() => $"maxpool k{Kernel} s{Stride} ({_g.InHeight}x{_g.InWidth}->{_g.OutHeight}x{_g.OutWidth})";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: maxpool needs a [channels, height, width] input");
        var g = PoolGeometry.Create(1, inputShape[0], inputShape[1], inputShape[2], Kernel, Stride);
        return [inputShape[0], g.OutHeight, g.OutWidth];
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        _g = PoolGeometry.Create(Input.Batch, Input.Shape[1], Input.Shape[2], Input.Shape[3], Kernel, Stride);
    }

    public override void Forward(bool training) => Backend.MaxPoolForward(_g, Input, Output);

    public override void Backward(BackwardMode mode)
    {
        if (mode.InputGradient && InputGrad is not null)
            Backend.MaxPoolBackward(_g, Input, Output, OutputGrad, InputGrad);
    }
}

/// <summary>Local response normalisation across channels (see <see cref="LrnParams"/>).</summary>
public sealed class LocalResponseNorm : Layer
{
    private Tensor _scale = null!;

    /// <summary>
    /// y = x / (k + alpha/size * sum x^2)^beta stays finite for every input only when size &gt;= 1
    /// (alpha/size), alpha &gt;= 0 and k &gt; 0 (the base never reaches 0 or below) and beta &gt;= 0;
    /// each must be finite ("lrn 0 0.0001 0.75 2" gave NaN losses at the first iteration).
    /// </summary>
    public LocalResponseNorm(string name, LrnParams p) : base(name)
    {
        Require(p.Size >= 1, $"{name}: lrn size must be at least 1, got {p.Size}");
        Require(float.IsFinite(p.Alpha) && p.Alpha >= 0, $"{name}: lrn alpha must be a finite number >= 0, got {p.Alpha}");
        Require(float.IsFinite(p.Beta) && p.Beta >= 0, $"{name}: lrn beta must be a finite number >= 0, got {p.Beta}");
        Require(float.IsFinite(p.K) && p.K > 0, $"{name}: lrn k must be a finite number greater than 0, got {p.K}");
        Params = p;
    }

    public LrnParams Params { get; }
    public override string Describe() => $"lrn size {Params.Size} alpha {Params.Alpha} beta {Params.Beta} k {Params.K}";

    public override int[] OutputShape(int[] inputShape)
    {
        Require(inputShape.Length == 3, $"{Name}: lrn needs a [channels, height, width] input");
        return inputShape;
    }

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        _scale = Backend.Allocate(outputShape);
    }

    public override void Forward(bool training) => Backend.LrnForward(Params, Input, Output, _scale);

    public override void Backward(BackwardMode mode)
    {
        if (mode.InputGradient && InputGrad is not null)
            Backend.LrnBackward(Params, Input, Output, _scale, OutputGrad, InputGrad);
    }
}

/// <summary>
/// Inverted dropout with probability p while training, identity otherwise. The mask comes
/// from a counter-based generator seeded per call (<see cref="Seed"/> is advanced each
/// training forward), so runs are reproducible and backends agree.
/// </summary>
public sealed class Dropout : Layer
{
    private Tensor _mask = null!;
    private bool _lastWasTraining;

    public Dropout(string name, float probability) : base(name)
    {
        Require(probability >= 0 && probability < 1, $"{name}: dropout probability must be in [0, 1), got {probability}");
        Probability = probability;
    }

    public float Probability { get; }

    /// <summary>The seed of the next training forward; set by the model from the run seed.</summary>
    public ulong Seed { get; set; }

    public override string Describe() => $"dropout {Probability}";
    public override int[] OutputShape(int[] inputShape) => inputShape;

    protected override void Allocate(int[] outputShape)
    {
        base.Allocate(outputShape);
        _mask = Backend.Allocate(outputShape);
    }

    public override void Forward(bool training)
    {
        _lastWasTraining = training && Probability > 0;
        if (_lastWasTraining)
        {
            Backend.DropoutForward(Input, Output, _mask, Probability, Seed);
            Seed = Seed * 6364136223846793005UL + 1442695040888963407UL;
        }
        else
        {
            Backend.Copy(Input, Output);
        }
    }

    public override void Backward(BackwardMode mode)
    {
        if (!mode.InputGradient || InputGrad is null) return;
        if (_lastWasTraining) Backend.DropoutBackward(OutputGrad, _mask, InputGrad);
        else Backend.Copy(OutputGrad, InputGrad);
    }
}

/// <summary>A view with another item shape ("reshape 256 7 7", or "flatten"); copies nothing.</summary>
public sealed class Reshape : Layer
{
    public Reshape(string name, int[]? itemShape) : base(name)
    {
        // "reshape -256 -7 7" has the right element count but no real shape
        Require(itemShape is null || (itemShape.Length > 0 && itemShape.All(d => d >= 1)),
            $"{name}: reshape needs one or more dimensions, each at least 1, got {(itemShape is null ? "" : string.Join(" ", itemShape))}");
        ItemShape = itemShape;
    }

    public int[]? ItemShape { get; }
    public override string Describe() => ItemShape is null ? "flatten" : $"reshape {string.Join("x", ItemShape)}";

    public override int[] OutputShape(int[] inputShape)
    {
        if (ItemShape is null) return [Tensor.CountOf(inputShape)];
        Require(Tensor.CountOf(ItemShape) == Tensor.CountOf(inputShape),
            $"{Name}: cannot reshape {Tensor.ShapeString(inputShape)} ({Tensor.CountOf(inputShape)} values) to {Tensor.ShapeString(ItemShape)}");
        return ItemShape;
    }

    protected override void Allocate(int[] outputShape)
    {
        Output = Input.Reshape(outputShape);
        OutputGrad = InputGrad is not null ? InputGrad.Reshape(outputShape) : Backend.Allocate(outputShape);
    }

    public override void Forward(bool training) { }
    public override void Backward(BackwardMode mode) { }
}
