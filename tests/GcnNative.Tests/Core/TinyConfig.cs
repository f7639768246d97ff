using GcnNative.Model;

namespace GcnNative.Tests.Core;

/// <summary>
/// A GCN small enough for gradient checks and short training runs: 3x6x6 images, two
/// features (shape: 3 classes, colour: 2 classes), every layer kind in one of the networks.
/// </summary>
internal static class TinyConfig
{
    public static string Json(string dropout = "0.5", string extraLoss = "", int warmup = 0) => $$"""
        {
          // comments and trailing commas are allowed
          "name": "tiny",
          "image": { "channels": 3, "height": 6, "width": 6 },
          "features": [ { "name": "shape", "classes": 3 }, { "name": "colour", "classes": 2 } ],
          "generator": {
            "branch": [ "fc 4", "lrelu 0.1" ],
            "branch_overrides": { "colour": [ "fc 3", "lrelu 0.1" ] },
            "trunk": [ "fc 18", "lrelu 0.1", "reshape 2 3 3", "deconv 3 k2 s2 p0" ],
          },
          "classifier": {
            "body": [ "conv 4 k3 s1 p1", "lrelu 0.2", "maxpool k2 s2", "lrn 3 0.5 0.75 2" ],
            "head": [ "fc 5", "lrelu 0.2", "dropout {{dropout}}", "fc classes" ],
          },
          "loss": {
            "pixel_weight": 0.3, "classification_weight": 0.7,
            "feature_weights": { "shape": 1.5, "colour": 0.5 },
            "classifier_warmup": {{warmup}} {{extraLoss}}
          },
          "optimizer": { "lr": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "lr_step": 1000, "lr_gamma": 0.5 },
          "training": { "batch": 2, "iterations": 30 },
        }
        """;

    public static GcnConfig Parse(string dropout = "0.5", int warmup = 0) =>
        GcnConfig.Parse(Json(dropout, warmup: warmup), "tiny.json");

    public static readonly int[] Classes = [3, 2];

    /// <summary>Uploads a fixed batch: labels, one-hot codes, and real images of a fixed pattern.</summary>
    public static (float[] Labels, float[] Real) UploadBatch(GcnModel model, int seed)
    {
        var rng = new Random(seed);
        int n = model.Batch;
        var labels = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            labels[i * 2] = i % 3;
            labels[i * 2 + 1] = (i / 3 + i) % 2;
        }
        var real = T.Random(n * 3 * 6 * 6, rng, 0.8f);
        model.Backend.Upload(model.Labels, labels);
        model.Backend.Upload(model.Real, real);
        for (int f = 0; f < 2; f++)
        {
            var code = new float[n * Classes[f]];
            for (int i = 0; i < n; i++) code[i * Classes[f] + (int)labels[i * 2 + f]] = 1;
            model.Backend.Upload(model.Generator.Codes[f], code);
        }
        return (labels, real);
    }
}
