namespace GcnNative;

/// <summary>
/// A float32 tensor in row-major (NCHW for images) layout, owned by one backend.
/// The storage is opaque above the backend: a CPU tensor holds a managed array, a CUDA
/// tensor a device pointer. Tensors are allocated when a graph is built and reused.
/// </summary>
public sealed class Tensor : IDisposable
{
    internal Tensor(IBackend backend, int[] shape, object storage)
    {
        Backend = backend;
        Shape = shape;
        Length = CountOf(shape);
        Storage = storage;
    }

    /// <summary>The backend that owns the storage.</summary>
    public IBackend Backend { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public int Length { get; }

    /// <summary>Backend-specific storage (float[] on the CPU).</summary>
    public object Storage { get; }

    /// <summary>Size of the outermost dimension (the batch for activations).</summary>
    public int Batch => Shape[0];

    /// <summary>Elements per item of the outermost dimension.</summary>
    public int ItemLength => Shape.Length == 0 || Shape[0] == 0 ? 0 : Length / Shape[0];

    public bool IsDisposed { get; private set; }

    /// <summary>True for a tensor that shares another tensor's storage (see <see cref="Reshape"/>).</summary>
    public bool IsView { get; private init; }

    /// <summary>A view of the same storage with another shape of the same element count.</summary>
    public Tensor Reshape(params int[] shape)
    {
        if (CountOf(shape) != Length)
            throw new ArgumentException($"cannot reshape {ShapeString(Shape)} to {ShapeString(shape)}");
        return new Tensor(Backend, (int[])shape.Clone(), Storage) { IsView = true };
    }

    public static int CountOf(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d} in shape");
            n *= d;
        }
        if (n > int.MaxValue) throw new ArgumentException($"tensor of {n} elements is too large");
        return (int)n;
    }

    public static string ShapeString(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public override string ToString() => $"Tensor{ShapeString(Shape)} on {Backend.Name}";

    /// <summary>Copies the tensor to a new host array (a synchronising read on devices).</summary>
    public float[] ToArray()
    {
        var host = new float[Length];
        Backend.Download(this, host);
        return host;
    }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        if (!IsView) Backend.Free(this);
    }
}
