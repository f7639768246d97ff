using GcnNative.IO;
using GcnNative.Layers;
using GcnNative.Model;
using NUnit.Framework;

namespace GcnNative.Tests.Core;

/// <summary>The model end to end on the tiny config: training makes progress; checkpoints resume exactly.</summary>
[TestFixture]
public class GcnModelTests
{
    private string _dir = "";

    [SetUp]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "gcn-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void TrainingOnAFixedBatchLowersThePixelLoss()
    {
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(), b, batch: 4, seed: 3, "tiny.json");
        TinyConfig.UploadBatch(model, seed: 12);
        var losses = new List<IterationLosses>();
        for (int it = 0; it < 30; it++) losses.Add(model.TrainIteration(it, readLosses: true)!);

        Assert.That(losses.All(l => l.IsFinite), "every loss finite");
        Assert.That(model.Step, Is.EqualTo(30));
        float first = losses[0].Pixel, last = losses[^1].Pixel;
        TestContext.Out.WriteLine($"pixel loss {first:G5} -> {last:G5}; classifier {losses[0].ClassifierLoss:G5} -> {losses[^1].ClassifierLoss:G5}");
        Assert.That(last, Is.LessThan(0.7f * first), "the generator fits the fixed batch");
        Assert.That(losses[^1].ClassifierLoss, Is.LessThan(losses[0].ClassifierLoss), "the classifier learns the labels");
        Assert.That(losses[0].ClassificationWeight, Is.EqualTo(0.7f));
        Assert.That(losses[0].LearningRate, Is.EqualTo(0.01f));
        Assert.That(losses[0].ClassifierCe, Has.Length.EqualTo(2));
        Assert.That(losses[0].GeneratedAccuracy, Has.All.InRange(0f, 1f));
    }

    [Test]
    public void TrainingWithoutReadingLossesIsTheSameComputation()
    {
        // readLosses only adds a read-back (and, during warm-up, the classifier pass for the report)
        using var b1 = T.Reference();
        using var b2 = T.Reference();
        var a = new GcnModel(TinyConfig.Parse(), b1, 2, 4, "tiny.json");
        var c = new GcnModel(TinyConfig.Parse(), b2, 2, 4, "tiny.json");
        TinyConfig.UploadBatch(a, 5);
        TinyConfig.UploadBatch(c, 5);
        for (int it = 0; it < 3; it++)
        {
            a.TrainIteration(it, readLosses: true);
            Assert.That(c.TrainIteration(it, readLosses: false), Is.Null);
        }
        foreach (var (pa, pc) in a.Parameters.Zip(c.Parameters))
            Assert.That(pc.Value.ToArray(), Is.EqualTo(pa.Value.ToArray()), pa.Name);
    }

    [Test]
    public void ParametersHaveStableGraphNames()
    {
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(), b, 2, 1, "tiny.json");
        var names = model.Parameters.Select(p => p.Name).ToList();
        Assert.That(names, Does.Contain("generator.branch.shape.0.weight"));
        Assert.That(names, Does.Contain("generator.branch.colour.0.bias"));
        Assert.That(names, Does.Contain("generator.trunk.3.weight"));
        Assert.That(names, Does.Contain("classifier.body.0.weight"));
        Assert.That(names, Does.Contain("classifier.head.colour.3.bias"));
        Assert.That(names, Is.Unique);
    }

    private static float[][] Values(GcnModel m, Func<Parameter, Tensor> which) =>
        m.Parameters.Select(p => which(p).ToArray()).ToArray();

    [TestCase("0")]
    [TestCase("0.5")] // the dropout masks after resuming must be the ones the run would have drawn
    public void CheckpointResumesExactly(string dropout)
    {
        // continue: train 4 iterations, save, train 2 more.
        // resume: a model built with another seed (so nothing matches by accident) loads the file
        // and trains the same 2 iterations; every loss, parameter and moment must match bit for bit.
        string path = Path.Combine(_dir, "ckpt.safetensors");
        using var b1 = T.Reference();
        var cont = new GcnModel(TinyConfig.Parse(dropout), b1, 3, seed: 21, "tiny.json");
        TinyConfig.UploadBatch(cont, 31);
        for (int it = 0; it < 4; it++) cont.TrainIteration(it, readLosses: false);
        cont.SaveCheckpoint(path, iteration: 4, withOptimizerState: true);
        var contLosses = Enumerable.Range(4, 2).Select(it => cont.TrainIteration(it, true)!).ToArray();

        using var b2 = T.Reference();
        var resumed = new GcnModel(TinyConfig.Parse(dropout), b2, 3, seed: 99, "tiny.json");
        TinyConfig.UploadBatch(resumed, 31);
        Assert.That(resumed.LoadCheckpoint(path, requireOptimizerState: true), Is.EqualTo(4));
        Assert.That(resumed.Step, Is.EqualTo(4));
        var resumedLosses = Enumerable.Range(4, 2).Select(it => resumed.TrainIteration(it, true)!).ToArray();

        for (int i = 0; i < 2; i++)
        {
            Assert.That(resumedLosses[i].ClassifierLoss, Is.EqualTo(contLosses[i].ClassifierLoss), $"L_C at {4 + i}");
            Assert.That(resumedLosses[i].GeneratorLoss, Is.EqualTo(contLosses[i].GeneratorLoss), $"L_G at {4 + i}");
            Assert.That(resumedLosses[i].Pixel, Is.EqualTo(contLosses[i].Pixel), $"E at {4 + i}");
        }
        Assert.That(Values(resumed, p => p.Value), Is.EqualTo(Values(cont, p => p.Value)), "parameters");
        Assert.That(Values(resumed, p => p.M), Is.EqualTo(Values(cont, p => p.M)), "Adam m");
        Assert.That(Values(resumed, p => p.V), Is.EqualTo(Values(cont, p => p.V)), "Adam v");
    }

    [Test]
    public void CheckpointHoldsEveryTensorAndTheMetadata()
    {
        string path = Path.Combine(_dir, "meta.safetensors");
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(), b, 2, 1, "tiny.json");
        TinyConfig.UploadBatch(model, 1);
        model.TrainIteration(0, false);
        model.SaveCheckpoint(path, 1, withOptimizerState: true, new Dictionary<string, string> { ["run"] = "unit" });
        var (tensors, meta) = SafeTensors.Load(path);
        int count = model.Parameters.Count();
        Assert.That(tensors, Has.Count.EqualTo(3 * count));
        foreach (var p in model.Parameters)
        {
            Assert.That(tensors[p.Name].Data, Is.EqualTo(p.Value.ToArray()), p.Name);
            Assert.That(tensors["adam.m." + p.Name].Data, Is.EqualTo(p.M.ToArray()), "m " + p.Name);
            Assert.That(tensors["adam.v." + p.Name].Shape, Is.EqualTo(p.V.Shape), "v " + p.Name);
        }
        Assert.That(meta["format"], Is.EqualTo("gcnnative-checkpoint-1"));
        Assert.That((meta["iteration"], meta["adam_step"], meta["run"]), Is.EqualTo(("1", "1", "unit")));
        Assert.That(GcnConfig.Parse(meta["config"], "checkpoint").ToJson(), Is.EqualTo(model.Config.ToJson()));
        // one dropout per classifier head, each seed advanced by the two training passes of iteration 0
        var seeds = meta["dropout_seeds"].Split(',');
        Assert.That(seeds, Has.Length.EqualTo(2));
        Assert.That(seeds.Select(ulong.Parse), Is.EqualTo(model.Classifier.AllLayers.OfType<Dropout>().Select(d => d.Seed)));
    }

    [Test]
    public void WeightsOnlyCheckpointCannotResumeButCanInitialise()
    {
        string path = Path.Combine(_dir, "weights.safetensors");
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(), b, 2, 1, "tiny.json");
        model.SaveCheckpoint(path, 0, withOptimizerState: false);
        var other = new GcnModel(TinyConfig.Parse(), b, 2, 2, "tiny.json");
        var e = Assert.Throws<InvalidDataException>(() => other.LoadCheckpoint(path, requireOptimizerState: true))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("optimiser state"));
        other.LoadCheckpoint(path, requireOptimizerState: false);
        Assert.That(Values(other, p => p.Value), Is.EqualTo(Values(model, p => p.Value)));
    }

    [Test]
    public void ADivergedModelIsNotSavedOverTheLastGoodCheckpoint()
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        using var b = T.Reference();
        var model = new GcnModel(TinyConfig.Parse(), b, 2, 1, "tiny.json");
        model.SaveCheckpoint(path, 0, withOptimizerState: true);
        var good = File.ReadAllBytes(path);
        var p = model.Parameters.First(x => x.Name == "classifier.body.0.bias");
        var values = p.Value.ToArray();
        values[2] = float.PositiveInfinity;
        b.Upload(p.Value, values);
        var e = Assert.Throws<InvalidDataException>(() => model.SaveCheckpoint(path, 1, withOptimizerState: true))!;
        Assert.That(e.Message, Is.EqualTo($"{path}: not saved: tensor 'classifier.body.0.bias' holds +infinity (value 3 of 4)"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(good));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1), "no temporary left");
    }

    [Test]
    public void CheckpointOfAnotherArchitectureIsRejected()
    {
        string path = Path.Combine(_dir, "other.safetensors");
        using var b = T.Reference();
        var wide = GcnConfig.Parse(TinyConfig.Json().Replace("\"fc 5\"", "\"fc 6\""), "wide.json");
        new GcnModel(wide, b, 2, 1, "wide.json").SaveCheckpoint(path, 0, false);
        var model = new GcnModel(TinyConfig.Parse(), b, 2, 1, "tiny.json");
        var e = Assert.Throws<InvalidDataException>(() => model.LoadCheckpoint(path, false))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("classifier.head.shape.0.weight").And.Contain("shape"));
    }
}
