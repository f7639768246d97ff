using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>
/// Maps a config's features onto a data set's features (by name) and fills a model's
/// batch buffers: one-hot codes per feature, labels, real images. Host arrays are
/// allocated once; each batch is one upload per buffer.
/// </summary>
public sealed class BatchFeeder
{
    private readonly ILabeledImages _data;
    private readonly int[] _featureMap;
    private readonly float[][] _codes;
    private readonly float[] _labels;
    private readonly float[] _images;
    private readonly int _imageLength;
    private readonly int _batch;

    public BatchFeeder(GcnConfig config, ILabeledImages data, int batch, string dataName)
    {
        _data = data;
        _batch = batch;
        var img = config.Image;
        if (data.Channels != img.Channels || data.Height != img.Height || data.Width != img.Width)
            throw new ConfigException(
                $"{dataName}: images are {data.Channels}x{data.Height}x{data.Width}, the config '{config.Name}' expects {img.Channels}x{img.Height}x{img.Width}");
        _featureMap = new int[config.Features.Count];
        for (int f = 0; f < config.Features.Count; f++)
        {
            var feature = config.Features[f];
            int at = -1;
            for (int i = 0; i < data.FeatureNames.Count; i++)
                if (data.FeatureNames[i] == feature.Name) at = i;
            if (at < 0)
                throw new ConfigException(
                    $"{dataName}: has no feature '{feature.Name}' (it has {string.Join(", ", data.FeatureNames)})");
            if (data.FeatureValues[at].Count != feature.Classes)
                throw new ConfigException(
                    $"{dataName}: feature '{feature.Name}' has {data.FeatureValues[at].Count} values, the config expects {feature.Classes}");
            _featureMap[f] = at;
        }
        _codes = config.Features.Select(f => new float[batch * f.Classes]).ToArray();
        _labels = new float[batch * config.Features.Count];
        _imageLength = img.Channels * img.Height * img.Width;
        _images = new float[batch * _imageLength];
    }

    /// <summary>Dataset feature index of config feature <paramref name="f"/>.</summary>
    public int DataFeature(int f) => _featureMap[f];

    /// <summary>Fills codes, labels and images for the given sample indices (padding by repeating the last).</summary>
    public void Fill(GcnModel model, ReadOnlySpan<int> indices, bool images = true)
    {
        int m = _featureMap.Length;
        foreach (var c in _codes) Array.Clear(c);
        for (int n = 0; n < _batch; n++)
        {
            int index = indices[Math.Min(n, indices.Length - 1)];
            for (int f = 0; f < m; f++)
            {
                int label = _data.GetLabel(index, _featureMap[f]);
                int classes = _codes[f].Length / _batch;
                _codes[f][n * classes + label] = 1f;
                _labels[n * m + f] = label;
            }
            if (images) _data.GetImage(index, _images.AsSpan(n * _imageLength, _imageLength));
        }
        Upload(model, images);
    }

    /// <summary>Fills the codes directly (mixed or one-hot) from explicit per-feature vectors.</summary>
    public static void FillCodes(GcnModel model, IReadOnlyList<float[][]> perSampleCodes)
    {
        int batch = model.Batch;
        var features = model.Config.Features;
        for (int f = 0; f < features.Count; f++)
        {
            var host = new float[batch * features[f].Classes];
            for (int n = 0; n < batch; n++)
            {
                var codes = perSampleCodes[Math.Min(n, perSampleCodes.Count - 1)];
                codes[f].CopyTo(host.AsSpan(n * features[f].Classes));
            }
            model.Backend.Upload(model.Generator.Codes[f], host);
        }
    }

    private void Upload(GcnModel model, bool images)
    {
        for (int f = 0; f < _codes.Length; f++) model.Backend.Upload(model.Generator.Codes[f], _codes[f]);
        model.Backend.Upload(model.Labels, _labels);
        if (images) model.Backend.Upload(model.Real, _images);
    }
}

/// <summary>Shuffled passes over a set of indices (a new permutation every epoch), deterministic per seed.</summary>
public sealed class EpochSampler
{
    private readonly int[] _order;
    private readonly Random _rng;
    private int _next;

    public EpochSampler(IReadOnlyList<int> indices, int seed)
    {
        if (indices.Count == 0) throw new ArgumentException("no training samples");
        _order = indices.ToArray();
        _rng = new Random(seed);
        _rng.Shuffle(_order);
    }

    public void Next(Span<int> batch)
    {
        for (int i = 0; i < batch.Length; i++)
        {
            if (_next == _order.Length)
            {
                _rng.Shuffle(_order);
                _next = 0;
            }
            batch[i] = _order[_next++];
        }
    }

    /// <summary>Advances as if <paramref name="batches"/> batches had been drawn (for resume).</summary>
    public void Skip(int batches, int batchSize)
    {
        var buf = new int[batchSize];
        for (int i = 0; i < batches; i++) Next(buf);
    }
}
