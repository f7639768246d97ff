namespace GcnNative.Training;

/// <summary>
/// What training and evaluation read from a data set: images as CHW floats in [0, 1] and
/// one class index per feature. Implemented by the on-disk dataset of GcnNative.Data.
/// </summary>
public interface ILabeledImages
{
    int Count { get; }
    int Channels { get; }
    int Height { get; }
    int Width { get; }
    IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Value names per feature ("red", "90", ...), index = class.</summary>
    IReadOnlyList<IReadOnlyList<string>> FeatureValues { get; }

    void GetImage(int index, Span<float> chw);

    int GetLabel(int index, int feature);
}
