using GcnNative.Data;

namespace GcnNative.Training;

/// <summary>The run's pictures: image grids and loss curves, written as PNG through the data layer.</summary>
public static class Pictures
{
    /// <summary>Saves <paramref name="count"/> CHW images in rows of <paramref name="columns"/>.</summary>
    public static void SaveGrid(string path, float[] images, int count, int channels, int height, int width, int columns)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        ImageIO.SaveGridPng(path, images.AsSpan(0, count * channels * height * width), channels, height, width, columns);
    }

    public static void SaveCurves(string path, double[] x, IReadOnlyList<(string Name, double[] Y)> series)
    {
        var plots = series.Select(s => new PlotSeries(s.Name, s.Y, x)).ToList();
        LinePlot.SavePng(path, plots, "loss per logged iteration (log scale)", logY: true);
    }
}

/// <summary>Presents an on-disk <see cref="Dataset"/> to training and evaluation.</summary>
public sealed class DatasetImages(Dataset dataset) : ILabeledImages
{
    public Dataset Dataset { get; } = dataset;
    public int Count => Dataset.Count;
    public int Channels => Dataset.Channels;
    public int Height => Dataset.Height;
    public int Width => Dataset.Width;
    public IReadOnlyList<string> FeatureNames => Dataset.Features.Select(f => f.Name).ToArray();
    public IReadOnlyList<IReadOnlyList<string>> FeatureValues => Dataset.Features.Select(f => f.Values).ToArray();
    public void GetImage(int index, Span<float> chw) => Dataset.GetImage(index, chw);
    public int GetLabel(int index, int feature) => Dataset.Labels[index][feature];
}
