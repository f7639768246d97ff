namespace GcnNative.Data;

/// <summary>
/// A problem with user-supplied data (a dataset folder, an IDX file, an image, a split file).
/// The message is one line meant for the user: it names the file, the field or position,
/// and what was expected, e.g.
/// <c>train-images-idx3-ubyte.gz: header says 60000 images of 28x28 (47040000 bytes) but the file has 1000 bytes of pixel data</c>.
/// </summary>
public sealed class GcnDataException : Exception
{
    /// <summary>Creates the exception from a complete one-line message.</summary>
    public GcnDataException(string message) : base(message) { }

    /// <summary>Creates the exception from a complete one-line message and the low-level cause.</summary>
    public GcnDataException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Builds the usual "<paramref name="file"/>: <paramref name="problem"/>" message.</summary>
    public GcnDataException(string file, string problem) : base($"{file}: {problem}") { }
}
