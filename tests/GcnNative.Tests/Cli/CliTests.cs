using GcnNative.Cli;
using GcnNative.Data;
using NUnit.Framework;

namespace GcnNative.Tests.Cli;

/// <summary>
/// The command line end to end on small generated data: errors are one line with a
/// non-zero exit and no stack trace; a tiny config trains, generates and evaluates.
/// </summary>
[TestFixture]
public class CliTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "gcn-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs the command line in this process; shared by the CLI test classes.</summary>
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = GcnNative.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Exit code 1, one line on stderr, no stack trace, and each fragment in it.</summary>
    internal static void AssertOneLineError((int Code, string Out, string Err) r, params string[] fragments)
    {
        Assert.That(r.Code, Is.EqualTo(1), r.Err + r.Out);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.Err);
        Assert.That(r.Err, Does.Not.Contain("   at "), "no stack trace");
        foreach (var f in fragments) Assert.That(r.Err, Does.Contain(f));
    }

    [Test]
    public void UnknownCommandAndOption()
    {
        AssertOneLineError(Run("frobnicate"), "unknown command 'frobnicate'");
        AssertOneLineError(Run("train", "--preset", "mnist", "--bogus", "1"), "unknown option --bogus");
        AssertOneLineError(Run("train", "--preset", "mnist", "--iterations"), "--iterations needs a value");
        AssertOneLineError(Run("train", "--preset", "mnist", "--data", _dir, "--out", _dir, "--iterations", "zero"),
            "--iterations expects an integer");
    }

    [Test]
    public void RepeatedOptionsAndOutOfRangeNumbersAreRefused()
    {
        AssertOneLineError(Run("bench", "step", "--preset", "mnist", "--preset", "faces"),
            "--preset is given twice ('mnist' and 'faces')");
        AssertOneLineError(Run("augment", "--run", _dir, "--out", Path.Combine(_dir, "a"), "--mix", "c", "--min-confidence", "nan"),
            "--min-confidence expects a number from 0 to 1, got 'nan'");
        AssertOneLineError(Run("train", "--preset", "mnist", "--data", _dir, "--out", Path.Combine(_dir, "r"),
                "--classification-weight", "-1"),
            "--classification-weight expects a number >= 0, got '-1'");
        AssertOneLineError(Run("bench", "step", "--preset", "mnist-small", "--threads", "100000"),
            "--threads expects an integer from 1 to " + 4 * Environment.ProcessorCount);
        AssertOneLineError(Run("train", "--preset", "mnist-small", "--data", "--out", Path.Combine(_dir, "r")), "--data needs a value");
    }

    [Test]
    public void TrainRefusesAFolderWithOtherFilesAndChecksTheDataBeforeTheDevice()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        // --out pointed at the data folder by mistake: nothing there is touched
        var before = Directory.GetFiles(data).ToDictionary(f => f, File.ReadAllBytes);
        var wrongOut = Run("train", "--config", config, "--data", data, "--out", data, "--device", "cpu");
        AssertOneLineError(wrongOut, "not empty and holds no run");
        Assert.That(wrongOut.Out, Does.Not.Contain("device:"), "the --out error comes before the device line");
        Assert.That(Directory.GetFiles(data), Is.EquivalentTo(before.Keys));
        foreach (var (f, bytes) in before) Assert.That(File.ReadAllBytes(f), Is.EqualTo(bytes), f);

        string file = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(file, "mine");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", file, "--device", "cpu"),
            "notes.txt: is a file; --out expects a folder");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", Path.Combine(file, "run"), "--device", "cpu"),
            "cannot be created", "notes.txt is a file");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", file, "--resume"), "is a file");
        // the demo keeps data/ and runs/ in its folder; it refuses any other folder holding files
        AssertOneLineError(Run("demo", "--out", data), "not empty and not a demo folder");
        AssertOneLineError(Run("demo", "--out", file), "is a file");
        // a preset of another image size is refused before any download or import
        string wrongSize = Path.Combine(_dir, "wrong-size");
        AssertOneLineError(Run("demo", "--preset", "faces-small", "--out", wrongSize),
            "--preset faces-small: its images are 3x64x64, the mnist demo's data is 3x28x28");
        AssertOneLineError(Run("demo", "faces", "--preset", "mnist", "--out", wrongSize), "the faces demo's data is 3x64x64");
        Assert.That(Directory.Exists(wrongSize), Is.False);
        // a demo folder is reused, but never what the user put in its data/ or runs/ folders
        string demo = Path.Combine(_dir, "demo");
        string notes = Path.Combine(demo, "runs", "faces-small", "notes", "results.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(notes)!);
        File.WriteAllText(notes, "important");
        AssertOneLineError(Run("demo", "faces", "--out", demo, "--iterations", "5", "--device", "cpu"), "holds no run");
        Assert.That(File.ReadAllText(notes), Is.EqualTo("important"));
        string mine = Path.Combine(_dir, "demo2", "data", "faces64", "labels.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(mine)!);
        File.WriteAllText(mine, "my labels");
        AssertOneLineError(Run("demo", "faces", "--out", Path.Combine(_dir, "demo2"), "--iterations", "5"), "holds files but no data set");
        Assert.That(File.ReadAllText(mine), Is.EqualTo("my labels"));
        Assert.That(Directory.GetFileSystemEntries(data), Is.EquivalentTo(before.Keys));
        Assert.That(File.ReadAllText(file), Is.EqualTo("mine"));

        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", ""), "--out is empty");

        // a start killed before its first checkpoint (run files only, and a killed save's
        // temporary file) is trained again in place; one more file of the user's, and it is refused
        string unfinished = Path.Combine(_dir, "unfinished");
        Directory.CreateDirectory(Path.Combine(unfinished, "samples"));
        foreach (string f in new[] { "config.json", "run.json", "metrics.jsonl", "samples/iter-000020.png", "samples/iter-009990.png", ".checkpoint.safetensors.99.tmp" })
            File.WriteAllText(Path.Combine(unfinished, f), "partial");
        File.WriteAllText(Path.Combine(unfinished, "mine.txt"), "mine");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", unfinished, "--device", "cpu"), "holds no run");
        File.Delete(Path.Combine(unfinished, "mine.txt"));
        var again = Run("train", "--config", config, "--data", data, "--out", unfinished, "--device", "cpu");
        Assert.That(again.Code, Is.EqualTo(0), again.Err);
        Assert.That(again.Out, Does.Contain("training again from iteration 0 (its 2 sample grids removed)"));
        Assert.That(File.Exists(Path.Combine(unfinished, ".checkpoint.safetensors.99.tmp")), Is.False, "stale temporary removed");
        Assert.That(File.Exists(Path.Combine(unfinished, "samples", "iter-009990.png")), Is.False, "the earlier start's grid removed");
        Assert.That(ImageIO.Identify(Path.Combine(unfinished, "samples", "iter-000020.png")).Format, Is.EqualTo("PNG"), "this start's grid");
        Assert.That(File.ReadAllLines(Path.Combine(unfinished, "metrics.jsonl"))[0], Does.StartWith("{\"iteration\":1,"));

        // --resume on another data set (same shape, other pixels) is refused
        string other = MakeToyData(Path.Combine(_dir, "other"), seed: 2);
        AssertOneLineError(Run("train", "--config", config, "--data", other, "--out", unfinished, "--device", "cpu", "--resume",
            "--iterations", "60"), "is not the data set this run trained on");

        var r = Run("train", "--config", config, "--data", Path.Combine(_dir, "nowhere"), "--out", Path.Combine(_dir, "run"),
            "--device", "cpu");
        AssertOneLineError(r, "nowhere");
        Assert.That(r.Out, Does.Not.Contain("device:"), "the data error comes before the device line");
    }

    [Test]
    public void BenchBatchTooLargeForATensorIsOneLineBeforeTheDevice()
    {
        var r = Run("bench", "deconv", "--batch", "100000", "--device", "cpu");
        AssertOneLineError(r, "gcn bench: error: --batch 100000: face-uconv8 39->79 would need a tensor of 57417200000 elements, " +
                              "more than one tensor holds (2147483647); the largest --batch that fits is");
        Assert.That(r.Out, Does.Not.Contain("device:"));
        AssertOneLineError(Run("bench", "gemm", "--batch", "1000000"),
            "gcn bench: error: --batch 1000000: faces fc 2048->16384 fwd would need a tensor of 16384000000 elements");
        AssertOneLineError(Run("bench", "deconv", "--batch", "2000000000", "--json"), "--batch 2000000000: face-uconv8");
    }

    [TestCase("100000")]
    [TestCase("-1")]
    [TestCase("1")]
    public void StepsHasOneRangeCheckedBeforeTheRunIsRead(string steps)
    {
        AssertOneLineError(Run("generate", "--run", Path.Combine(_dir, "no-run"), "--features", "color=red",
                "--mix", "color", "--with", "green", "--steps", steps, "--out", Path.Combine(_dir, "g.png")),
            $"gcn generate: error: --steps expects an integer from 2 to 64, got '{steps}'");
    }

    [Test]
    public void VersionRefusesAnExtraArgument()
    {
        var r = Run("--version", "extra");
        AssertOneLineError(r, "gcn --version: error: unexpected argument 'extra' (--version takes none)");
        Assert.That(r.Out, Is.Empty);
        AssertOneLineError(Run("version", "--json"), "unexpected argument '--json'");
        AssertOneLineError(Run("help", "train", "extra"), "gcn help: error: unexpected argument 'extra' (help takes one command name)");
        var h = Run("--help", "train");
        Assert.That(h.Code, Is.EqualTo(0), h.Err);
        Assert.That(h.Out, Does.StartWith("gcn train (--preset NAME | --config FILE)"));
    }

    [Test]
    public void BenchStepJsonCarriesTheLayersAndTheWarmUpIsWordedAsRun()
    {
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        var j = Run("bench", "step", "--config", config, "--iterations", "1", "--warmup", "0", "--json", "--layers", "--device", "cpu");
        Assert.That(j.Code, Is.EqualTo(0), j.Err);
        Assert.That(j.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1), "one JSON line");
        using var doc = System.Text.Json.JsonDocument.Parse(j.Out);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("warmup").GetInt32(), Is.EqualTo(0));
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        // the toy networks: generator branches (3 x 2 layers), trunk 4, classifier body 4, heads (3 x 4)
        Assert.That(layers, Has.Count.EqualTo(3 * 2 + 4 + 4 + 3 * 4));
        foreach (var l in layers)
        {
            Assert.That(l.GetProperty("name").GetString(), Is.Not.Empty);
            Assert.That(l.GetProperty("forward_ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(l.GetProperty("backward_ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
        }
        Assert.That(layers.Select(l => l.GetProperty("name").GetString()), Has.Some.Contains("deconv 4->3"));
        Assert.That(root.TryGetProperty("layers", out _), Is.True);

        var noWarmup = Run("bench", "step", "--config", config, "--iterations", "1", "--warmup", "0", "--device", "cpu");
        Assert.That(noWarmup.Code, Is.EqualTo(0), noWarmup.Err);
        Assert.That(noWarmup.Out, Does.Contain("1 iteration, no warm-up)").And.Not.Contain("after"));
        var warmed = Run("bench", "step", "--config", config, "--iterations", "2", "--warmup", "1", "--device", "cpu");
        Assert.That(warmed.Out, Does.Contain("mean of 2 after 1 warm-up iteration)"));
        var json = Run("bench", "step", "--config", config, "--iterations", "1", "--warmup", "0", "--json", "--device", "cpu");
        Assert.That(json.Out, Does.Not.Contain("\"layers\""), "the per-layer timing only with --layers");
    }

    [Test]
    public void BenchStepNamesTheConfigFileAsTrainDoes()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "c7.json"));
        File.WriteAllText(config, File.ReadAllText(config).Replace("reshape 4 4 4", "reshape 4 4 5"));
        string expected = $"{config}: generator.trunk[2] \"reshape 4 4 5\"";
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", Path.Combine(_dir, "run"), "--device", "cpu"),
            "gcn train: error: " + expected);
        AssertOneLineError(Run("bench", "step", "--config", config, "--device", "cpu"), "gcn bench: error: " + expected);
        // a layer too large at the --batch asked for (found at its first tensor, nothing large allocated before)
        File.WriteAllText(config, File.ReadAllText(config).Replace("reshape 4 4 5", "reshape 4 4 4").Replace("\"fc 8\", \"lrelu 0.1\"", "\"fc 3000\", \"lrelu 0.1\""));
        AssertOneLineError(Run("bench", "step", "--config", config, "--batch", "1000000", "--device", "cpu"),
            $"gcn bench: error: {config}: generator.branch.shape[0] (fc 2->3000): its output at batch 1000000 is too large");
    }

    [Test]
    public void UnknownPresetNamesTheKnownOnes()
    {
        AssertOneLineError(Run("bench", "step", "--preset", "nope"), "unknown preset 'nope'", "mnist-small");
    }

    [Test]
    public void EveryCommandHasHelp()
    {
        foreach (var c in new[] { "demo", "data", "train", "generate", "eval", "augment", "presets" })
        {
            var r = Run(c, "--help");
            Assert.That(r.Code, Is.EqualTo(0), c);
            Assert.That(r.Out, Does.Contain("gcn " + c), c);
        }
        Assert.That(Run("bench", "--help").Out, Does.Contain("bench step"));
        Assert.That(Run("help", "data").Out, Does.Contain("S x S (default: the first image's shorter side)"));
        var h = Run("help", "train");
        Assert.That(h.Code, Is.EqualTo(0));
        Assert.That(h.Out, Does.StartWith("gcn train"));
        var v = Run("--version");
        Assert.That(v.Code, Is.EqualTo(0));
        Assert.That(v.Out, Does.Match(@"^gcn \d+\.\d+"));
    }

    [Test]
    public void MissingDataFolderNamesIt()
    {
        string missing = Path.Combine(_dir, "nowhere");
        AssertOneLineError(Run("train", "--preset", "mnist-small", "--data", missing, "--out", Path.Combine(_dir, "run"),
            "--device", "cpu"), "nowhere");
    }

    [Test]
    public void BrokenIdxSourceIsOneLineAndWritesNothing()
    {
        string src = Path.Combine(_dir, "idx");
        Directory.CreateDirectory(src);
        File.WriteAllBytes(Path.Combine(src, "train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0]);
        File.WriteAllBytes(Path.Combine(src, "train-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 0]);
        string outDir = Path.Combine(_dir, "out");
        AssertOneLineError(Run("data", "mnist", "--source", src, "--out", outDir), "train-images-idx3-ubyte");
        Assert.That(File.Exists(Path.Combine(outDir, Dataset.ManifestFile)), Is.False);
    }

    [Test]
    public void DataFacesWritesTheBuiltInSet()
    {
        string outDir = Path.Combine(_dir, "faces");
        var r = Run("data", "faces", "--out", outDir, "--people", "3", "--size", "32");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var ds = Dataset.Load(outDir);
        Assert.That(ds.Count, Is.EqualTo(3 * 4 * 8));
        Assert.That(ds.Features.Select(f => f.Name), Is.EqualTo(new[] { "identity", "emotion", "transformation" }));
        AssertOneLineError(Run("data", "faces", "--out", Path.Combine(_dir, "f2"), "--size", "2"), "size");
        AssertOneLineError(Run("data", "nonsense", "--out", outDir), "unknown data set 'nonsense'");
        // an existing data set (and an edited heldout.csv in it) is never written over
        string heldout = Path.Combine(outDir, Dataset.HeldoutFile);
        File.AppendAllText(heldout, "# my edit\n");
        string before = File.ReadAllText(heldout);
        AssertOneLineError(Run("data", "faces", "--out", outDir, "--people", "3", "--size", "32"), "not empty", "holds a data set");
        Assert.That(File.ReadAllText(heldout), Is.EqualTo(before));
    }

    [Test]
    public void DeviceCudaWithoutGpuSaysWhyInOneLine()
    {
        var r = Run("bench", "step", "--preset", "mnist-small", "--device", "cuda");
        AssertOneLineError(r, "--device cuda", "CUDA cannot run here");
    }

    /// <summary>A 3-feature, 8x8 toy data set with a held-out split, in the standard format.</summary>
    internal static string MakeToyData(string dir, int seed = 1)
    {
        var features = new[]
        {
            new DatasetFeature("shape", ["bar", "dot"]),
            new DatasetFeature("color", ["red", "green", "blue"]),
            new DatasetFeature("side", ["left", "right"]),
        };
        var labels = new List<int[]>();
        var pixels = new List<byte>();
        for (int s = 0; s < 2; s++)
        for (int c = 0; c < 3; c++)
        for (int p = 0; p < 2; p++)
        {
            labels.Add([s, c, p]);
            var img = new byte[3 * 8 * 8];
            for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
            {
                bool on = s == 0 ? x == (p == 0 ? 2 : 5) : (Math.Abs(x - (p == 0 ? 2 : 5)) <= 1 && Math.Abs(y - 4) <= 1);
                if (on) img[c * 64 + y * 8 + x] = (byte)(256 - seed);
            }
            pixels.AddRange(img);
        }
        var heldout = HeldoutSplit.Parse("shape,color,side\ndot,blue,right\n", features);
        var ds = new Dataset("toy", 3, 8, 8, features, pixels.ToArray(), labels.ToArray(), heldout);
        Dataset.Save(dir, ds);
        return dir;
    }

    internal static string ToyConfig(string path)
    {
        File.WriteAllText(path, """
            {
              "name": "toy",
              "image": { "channels": 3, "height": 8, "width": 8 },
              "features": [ { "name": "shape", "classes": 2 }, { "name": "color", "classes": 3 }, { "name": "side", "classes": 2 } ],
              "generator": { "branch": [ "fc 8", "lrelu 0.1" ],
                             "trunk": [ "fc 64", "lrelu 0.1", "reshape 4 4 4", "deconv 3 k4 s2 p1" ] },
              "classifier": { "body": [ "conv 4 k3 p1", "lrelu 0.2", "maxpool k2 s2", "lrn 3 0.0001 0.75 2" ],
                              "head": [ "fc 8", "lrelu 0.2", "dropout 0.5", "fc classes" ] },
              "evaluator": { "body": [ "conv 4 k3 p1", "lrelu 0.2" ], "head": [ "fc classes" ], "iterations": 30, "lr": 0.01 },
              "optimizer": { "lr": 0.003, "lr_step": 1000 },
              "training": { "batch": 4, "iterations": 40, "log_every": 10, "sample_every": 20, "checkpoint_every": 20 }
            }
            """);
        return path;
    }

    [Test]
    public void TrainGenerateEvalOnToyData()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, "run");
        var t = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu");
        Assert.That(t.Code, Is.EqualTo(0), t.Err + t.Out);
        Assert.That(t.Out, Does.Contain("config").And.Contain("optimizer").And.Contain("ms/it"));
        foreach (var f in new[] { "checkpoint.safetensors", "config.json", "run.json", "metrics.jsonl", "loss.png", "samples/iter-000040.png" })
            Assert.That(File.Exists(Path.Combine(run, f)), Is.True, f);
        var metricLines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.That(metricLines, Has.Length.EqualTo(5)); // 1, 10, 20, 30, 40
        Assert.That(File.ReadAllBytes(Path.Combine(run, "metrics.jsonl"))[0], Is.EqualTo((byte)'{'), "no byte-order mark");

        // training again into the same folder without --resume refuses and keeps the checkpoint
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(run, "checkpoint.safetensors"));
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu"), "--resume");
        Assert.That(File.GetLastWriteTimeUtc(Path.Combine(run, "checkpoint.safetensors")), Is.EqualTo(stamp));

        // --resume refuses other settings, and an --iterations the checkpoint has already reached
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume",
            "--iterations", "60", "--batch", "2"), "--resume would train with different settings (training.batch)");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume",
            "--iterations", "30"), "is at iteration 40", "--iterations 30");
        // with config.json gone, the checkpoint's own copy of the config is compared
        string configCopy = File.ReadAllText(Path.Combine(run, "config.json"));
        File.Delete(Path.Combine(run, "config.json"));
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume",
            "--iterations", "60", "--seed", "5"), "checkpoint.safetensors (its config)", "training.seed");
        File.WriteAllText(Path.Combine(run, "config.json"), configCopy);

        // a line logged after the checkpoint by a run that was then killed is dropped on resume
        File.AppendAllText(Path.Combine(run, "metrics.jsonl"), "{\"iteration\": 45, \"seconds\": -1}\n{\"iteration\": 4");
        // resume to 60 iterations appends to the metrics
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60");
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        Assert.That(r.Out, Does.Contain("resumed from").And.Contain("iterations 41..60 (20 this time)"));
        var resumed = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("iteration").GetInt32()).ToList();
        Assert.That(resumed, Is.EqualTo(new[] { 1, 10, 20, 30, 40, 41, 50, 60 }));

        string png = Path.Combine(_dir, "g.png");
        var g = Run("generate", "--run", run, "--features", "shape=dot,color=blue*0.5+red*0.5,side=right", "--out", png, "--device", "cpu");
        Assert.That(g.Code, Is.EqualTo(0), g.Err);
        Assert.That(ImageIO.Identify(png), Is.EqualTo(new ImageHeader("PNG", 8, 8)));

        // a picture never goes over the run's checkpoint or any file that is not a PNG
        string ckpt = Path.Combine(run, "checkpoint.safetensors");
        long size = new FileInfo(ckpt).Length;
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", ckpt), ".png");
        string notes = Path.Combine(_dir, "notes.png");
        File.WriteAllText(notes, "not a picture");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", notes), "not a PNG");
        Assert.That(new FileInfo(ckpt).Length, Is.EqualTo(size));
        Assert.That(File.ReadAllText(notes), Is.EqualTo("not a picture"));

        // nor over a run's or a data set's own pictures, nor through a link
        string loss = Path.Combine(run, "loss.png"), sample = Directory.GetFiles(Path.Combine(run, "samples"))[0];
        byte[] lossBytes = File.ReadAllBytes(loss), sampleBytes = File.ReadAllBytes(sample);
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", loss),
            $"--out {loss}: is inside the run folder {Path.GetFullPath(run)}; write generated pictures somewhere else");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", sample),
            "is inside the run folder");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", Path.Combine(data, "new.png")),
            $"is inside the data set folder {Path.GetFullPath(data)}");
        Assert.That(File.ReadAllBytes(loss), Is.EqualTo(lossBytes));
        Assert.That(File.ReadAllBytes(sample), Is.EqualTo(sampleBytes));
        string link = Path.Combine(_dir, "link.png");
        File.CreateSymbolicLink(link, png);
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=blue,side=right", "--out", link),
            $"--out {link}: is a symbolic link to {png}; not replacing it");
        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(png));

        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=purple,side=right", "--out", png),
            "unknown value 'purple'", "red, green, blue");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,hue=red,side=right", "--out", png),
            "unknown feature 'hue'");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,side=right", "--out", png),
            "missing color");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=red+,side=right", "--out", png),
            "'color=red+' has an empty term");

        string grid = Path.Combine(_dir, "mix.png");
        var m = Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--mix", "color",
            "--with", "green,blue", "--steps", "5", "--out", grid, "--device", "cpu");
        Assert.That(m.Code, Is.EqualTo(0), m.Err);
        // 3 rows of max(2 + 1, 5) = 5 cells of 8 px with 2 px padding
        var header = ImageIO.Identify(grid);
        Assert.That((header.Width, header.Height), Is.EqualTo((5 * 8 + 6 * 2, 3 * 8 + 4 * 2)));
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--mix", "hue",
            "--with", "green", "--out", grid), "unknown feature 'hue'");
        var badWith = Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--mix", "color",
            "--with", "green,purple", "--out", grid);
        AssertOneLineError(badWith, "--with: unknown value 'purple'", "red, green, blue");
        Assert.That(badWith.Err, Does.Not.Contain("--features"));

        var e = Run("eval", "--run", run, "--device", "cpu");
        Assert.That(e.Code, Is.EqualTo(0), e.Err + e.Out);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "eval.json")));
        var held = json.RootElement.GetProperty("heldout");
        Assert.That(held.GetProperty("count").GetInt32(), Is.EqualTo(1));
        Assert.That(held.GetProperty("psnr").GetDouble(), Is.GreaterThan(0));
        Assert.That(held.GetProperty("accuracy").GetProperty("color").GetDouble(), Is.InRange(0, 1));
        Assert.That(json.RootElement.GetProperty("train").GetProperty("psnr").GetDouble(), Is.GreaterThan(0));
        Assert.That(json.RootElement.GetProperty("settings").GetProperty("iterations").GetInt32(), Is.EqualTo(60));
        Assert.That(json.RootElement.GetProperty("settings").GetProperty("heldout_matches_training").GetBoolean(), Is.True);
        Assert.That(File.Exists(Path.Combine(run, "heldout-grid.png")), Is.True);

        // one row per held-out image, consistent with the means and accuracies in eval.json
        var lines = File.ReadAllLines(Path.Combine(run, "heldout-predictions.csv"));
        Assert.That(lines, Has.Length.EqualTo(2));
        var head = lines[0].Split(',');
        var row = lines[1].Split(',');
        Assert.That(head[..4], Is.EqualTo(new[] { "image", "shape", "color", "side" }));
        Assert.That(head, Does.Contain("psnr").And.Contain("ssim").And.Contain("color_judged"));
        Assert.That(row, Has.Length.EqualTo(head.Length));
        double psnr = double.Parse(row[Array.IndexOf(head, "psnr")], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(psnr, Is.EqualTo(held.GetProperty("psnr").GetDouble()).Within(1e-3));
        bool colorRight = row[Array.IndexOf(head, "color_judged")] == row[Array.IndexOf(head, "color")];
        Assert.That(colorRight ? 1.0 : 0.0, Is.EqualTo(held.GetProperty("accuracy").GetProperty("color").GetDouble()));

        // augmentation: every pair of colours mixed 0.5/0.5, over every shape and side
        string aug = Path.Combine(_dir, "aug");
        var au = Run("augment", "--run", run, "--out", aug, "--mix", "color", "--min-confidence", "0", "--device", "cpu");
        Assert.That(au.Code, Is.EqualTo(0), au.Err + au.Out);
        Assert.That(au.Out, Does.Contain("kept 12 of 12 images (3 pairs of color x 4 combinations"));
        var augmented = Dataset.Load(aug);
        Assert.That(augmented.Count, Is.EqualTo(12));
        Assert.That(augmented.Features[1].Values, Is.EqualTo(new[] { "red+green", "red+blue", "green+blue" }));
        Assert.That(augmented.Features[0].Values, Is.EqualTo(new[] { "bar", "dot" }));
        Assert.That(augmented.Labels[0], Is.EqualTo(new[] { 0, 0, 0 }));   // bar, red+green, left
        Assert.That(augmented.Labels[1], Is.EqualTo(new[] { 0, 0, 1 }));   // bar, red+green, right
        Assert.That(augmented.Labels[11], Is.EqualTo(new[] { 1, 2, 1 }));  // dot, green+blue, right
        Assert.That(File.Exists(Path.Combine(aug, "preview.png")), Is.True);
        // image 0 is what `generate` draws for the same mixed code
        string mixed = Path.Combine(_dir, "mixed.png");
        Assert.That(Run("generate", "--run", run, "--features", "shape=bar,color=red*0.5+green*0.5,side=left", "--out", mixed,
            "--device", "cpu").Code, Is.EqualTo(0));
        var drawn = ImageIO.LoadImageRgb(mixed).Chw;
        var stored = augmented.GetImageBytes(0).ToArray();
        for (int i = 0; i < stored.Length; i++)
            Assert.That(stored[i], Is.EqualTo(drawn[i] * 255f).Within(1.01), $"byte {i}");

        // --pairs and --fix narrow it; bad requests are one-line errors that write nothing
        string aug2 = Path.Combine(_dir, "aug2");
        var au2 = Run("augment", "--run", run, "--out", aug2, "--mix", "color", "--pairs", "2", "--fix", "side=right",
            "--min-confidence", "0", "--device", "cpu");
        Assert.That(au2.Code, Is.EqualTo(0), au2.Err + au2.Out);
        var narrowed = Dataset.Load(aug2);
        Assert.That(narrowed.Count, Is.EqualTo(2 * 2));
        Assert.That(narrowed.Labels.Select(l => l[2]), Is.All.EqualTo(1));
        string aug3 = Path.Combine(_dir, "aug3");
        AssertOneLineError(Run("augment", "--run", run, "--out", aug3, "--mix", "hue"), "unknown feature 'hue'");
        AssertOneLineError(Run("augment", "--run", run, "--out", aug3, "--mix", "color", "--fix", "side=up"), "unknown value 'up'");
        AssertOneLineError(Run("augment", "--run", run, "--out", aug3, "--mix", "color", "--fix", "color=red"), "mixed feature");
        AssertOneLineError(Run("augment", "--run", run, "--out", aug3, "--mix", "color", "--min-confidence", "1.5"), "--min-confidence");
        Assert.That(Directory.Exists(aug3) && Directory.EnumerateFileSystemEntries(aug3).Any(), Is.False);
        AssertOneLineError(Run("augment", "--run", run, "--out", aug, "--mix", "color"), "not empty");
        AssertOneLineError(Run("augment", "--run", run, "--out", aug3, "--mix", "color", "--fix", "side=left,side=right"),
            "'side' is given twice");

        // a damaged run.json is a user error naming the file, not an internal error
        string broken = Path.Combine(_dir, "broken-run");
        Directory.CreateDirectory(broken);
        foreach (var file in Directory.GetFiles(run)) File.Copy(file, Path.Combine(broken, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(broken, "run.json"), "{not json");
        AssertOneLineError(Run("eval", "--run", broken, "--device", "cpu"), "run.json: not valid JSON");
        AssertOneLineError(Run("generate", "--run", broken, "--features", "shape=dot,color=red,side=left", "--out", mixed),
            "run.json: not valid JSON");
    }

    [Test]
    public void ShapeMismatchInAConfigIsAUserErrorAndLeavesNoRunFolder()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        File.WriteAllText(config, File.ReadAllText(config).Replace("reshape 4 4 4", "reshape 4 4 5"));
        string run = Path.Combine(_dir, "run");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu"),
            "generator.trunk[2] \"reshape 4 4 5\"", "cannot reshape");
        Assert.That(Directory.Exists(run), Is.False);
        // a layer too wide for one tensor at this batch is a config error naming the layer, not a crash
        string wide = ToyConfig(Path.Combine(_dir, "wide.json"));
        File.WriteAllText(wide, File.ReadAllText(wide).Replace("\"head\": [ \"fc 8\",", "\"head\": [ \"fc 40000000\","));
        AssertOneLineError(Run("train", "--config", wide, "--data", data, "--out", run, "--device", "cpu"),
            "classifier.head.shape[0] (fc 64->40000000): its weights are too large");
        Assert.That(Directory.Exists(run), Is.False);
        AssertOneLineError(Run("train", "--config", config.Replace("toy", "nope"), "--data", data, "--out", run), "not found");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"iterations\": 40", "\"iteratons\": 40"));
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run), "unknown field 'training.iteratons'");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"batch\": 4,", "\"batch\": 4, \"batch\": 2,"));
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run),
            $"gcn train: error: {config}: key 'training.batch' (line 11) is given twice; give it once");
    }

    [TestCase("\"lr\": 0.003", "\"lr\": 1e300",
        "field 'optimizer.lr' must be a finite number greater than 0 and at most 1, got a value beyond the range of a 32-bit float (above 3.4e38)")]
    [TestCase("\"optimizer\": {", "\"loss\": { \"pixel_weight\": 1e39 }, \"optimizer\": {",
        "field 'loss.pixel_weight' must be a finite number >= 0, got a value beyond the range of a 32-bit float (above 3.4e38)")]
    [TestCase("\"batch\": 4", "\"batch\": \"64\"", "field 'training.batch' (line 11) must be an integer, got the string \"64\"")]
    [TestCase("\"batch\": 4,", "\"batch\": 4, \"batch\": 4,", "key 'training.batch' (line 11) is given twice; give it once")]
    [TestCase("lrn 3 0.0001 0.75 2", "lrn 0 0.0001 0.75 2",
        "classifier.body[3] \"lrn 0 0.0001 0.75 2\": lrn size must be at least 1, got 0")]
    [TestCase("\"lrelu 0.1\", \"reshape", "\"lrelu nan\", \"reshape",
        "generator.trunk[1] \"lrelu nan\": lrelu slope must be a finite number, got NaN")]
    public void BadConfigValueIsOneLineBeforeAnythingIsWritten(string from, string to, string expected)
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        Assert.That(File.ReadAllText(config), Does.Contain(from), "the edit must apply");
        File.WriteAllText(config, File.ReadAllText(config).Replace(from, to));
        string run = Path.Combine(_dir, "run");
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu");
        AssertOneLineError(r, $"gcn train: error: {config}: {expected}");
        Assert.That(r.Err, Does.Not.Contain("System.").And.Not.Contain("GcnNative."), "no .NET type names");
        Assert.That(r.Out, Does.Not.Contain("device:"), "checked before the device is chosen");
        Assert.That(Directory.Exists(run), Is.False, "no run folder is left behind");
        // bench reads the same file and names it the same way
        AssertOneLineError(Run("bench", "step", "--config", config, "--device", "cpu"), $"gcn bench: error: {config}: {expected}");
    }

    [Test]
    public void ConfigThatIsAListIsOneLine()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = Path.Combine(_dir, "list.json");
        File.WriteAllText(config, "[]");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", Path.Combine(_dir, "run")),
            $"gcn train: error: {config}: the file must hold a JSON object (a config), got a list");
    }

    [Test]
    public void NonFiniteLossStopsTheRunWithAMessage()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        // a finite but absurd weight (3e38 x the cross-entropy is beyond a float) makes the first loss infinite
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"optimizer\": {", "\"loss\": { \"classification_weight\": 3e38 }, \"optimizer\": {"));
        var r = Run("train", "--config", config, "--data", data, "--out", Path.Combine(_dir, "run"), "--device", "cpu");
        AssertOneLineError(r, "not finite");
    }

    /// <summary>Trains the toy config for 40 iterations (checkpoints at 20 and 40) into a new run folder.</summary>
    private (string Data, string Config, string Run) TrainToyRun(string name = "run")
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, name);
        var t = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu");
        Assert.That(t.Code, Is.EqualTo(0), t.Err + t.Out);
        return (data, config, run);
    }

    private static List<(int It, double Seconds)> ReadMetrics(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l =>
        {
            var root = System.Text.Json.JsonDocument.Parse(l).RootElement;
            return (root.GetProperty("iteration").GetInt32(), root.GetProperty("seconds").GetDouble());
        }).ToList();

    [Test]
    public void ResumedMetricsContinueTheRunsSeconds()
    {
        var (data, config, run) = TrainToyRun();
        // the kept lines say the run had trained for 1000 s by iteration 40: the resumed lines go on from there
        string metrics = Path.Combine(run, "metrics.jsonl");
        File.WriteAllLines(metrics, File.ReadAllLines(metrics).Select(l =>
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(l)!.AsObject();
            o["seconds"] = 900 + 2.5 * o["iteration"]!.GetValue<int>();
            return o.ToJsonString();
        }));
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60");
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        var rows = ReadMetrics(run);
        Assert.That(rows.Select(m => m.It), Is.EqualTo(new[] { 1, 10, 20, 30, 40, 41, 50, 60 }));
        Assert.That(rows[4].Seconds, Is.EqualTo(1000));
        Assert.That(rows.Select(m => m.Seconds), Is.Ordered, "seconds never go back across a resume");
        Assert.That(rows.Skip(5).Select(m => m.Seconds), Is.All.InRange(1000.0, 1300.0));
    }

    [Test]
    public void ResumeNamesEachMetricsLineItDrops()
    {
        var (data, config, run) = TrainToyRun();
        string metrics = Path.Combine(run, "metrics.jsonl");
        var lines = File.ReadAllLines(metrics).ToList();   // iterations 1, 10, 20, 30, 40
        lines.Insert(2, "garbage from an editor");                                   // line 3
        lines.Insert(4, "{\"iteration\": 25, \"seconds\": 1}");                     // line 5
        lines.Add("{\"iteration\": 45, \"seconds\": -1}");                          // line 8: after the checkpoint, dropped silently
        File.WriteAllText(metrics, string.Join("\n", lines) + "\n{\"iteration\": 4");  // line 9: cut short by a kill
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60");
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        var warnings = r.Out.Split('\n').Where(l => l.StartsWith("warning:", StringComparison.Ordinal)).ToArray();
        Assert.That(warnings, Is.EqualTo(new[]
        {
            $"warning: {metrics}, line 3: dropped, not valid JSON",
            $"warning: {metrics}, line 5: dropped, no number 'classifier_loss'",
            $"warning: {metrics}, line 9: dropped, cut short (the last line of a run stopped while writing it)",
        }));
        Assert.That(ReadMetrics(run).Select(m => m.It), Is.EqualTo(new[] { 1, 10, 20, 30, 40, 41, 50, 60 }));
    }

    [Test]
    public void AFileWhereTheRunWantsAFolderIsRefusedBeforeTraining()
    {
        var (data, config, run) = TrainToyRun();
        string samples = Path.Combine(run, "samples"), checkpoint = Path.Combine(run, "checkpoint.safetensors");
        Directory.Delete(samples, recursive: true);
        File.WriteAllText(samples, "mine");
        var before = File.ReadAllBytes(checkpoint);
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60");
        AssertOneLineError(r,
            $"gcn train: error: {samples}: is a file; the run writes its sample grids into a folder of this name (move the file away or give another --out)");
        Assert.That(r.Out, Does.Not.Contain("device:"), "refused before the device line");
        Assert.That(File.ReadAllBytes(checkpoint), Is.EqualTo(before));
        Assert.That(File.ReadAllText(samples), Is.EqualTo("mine"));
        // a start stopped before its first checkpoint, with the same file: the same error
        string fresh = Path.Combine(_dir, "fresh");
        Directory.CreateDirectory(fresh);
        File.WriteAllText(Path.Combine(fresh, "samples"), "mine");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", fresh, "--device", "cpu"),
            $"{Path.Combine(fresh, "samples")}: is a file; the run writes its sample grids into a folder");
        // a link to nothing in its place names where it leads
        File.Delete(samples);
        File.CreateSymbolicLink(samples, Path.Combine(_dir, "gone"));
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60"),
            $"gcn train: error: {samples}: is a symbolic link to {Path.Combine(_dir, "gone")}, which does not exist; the run writes its sample grids into a folder");
        // and a folder where the run writes a file
        File.Delete(samples);
        string metrics = Path.Combine(run, "metrics.jsonl");
        File.Delete(metrics);
        Directory.CreateDirectory(metrics);
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", "60"),
            $"gcn train: error: {metrics}: is a folder; the run writes a file of this name (move the folder away or give another --out)");
    }

    [Test]
    public void OutAsADanglingLinkNamesItsTarget()
    {
        string target = Path.Combine(_dir, "gone", "run");
        string link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, target);
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        string dangling = $"{link}: is a symbolic link to {target}, which does not exist";
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", link, "--device", "cpu"),
            $"gcn train: error: {dangling}; --out expects a folder for the run");
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", Path.Combine(link, "run"), "--device", "cpu"),
            $"gcn train: error: {Path.Combine(link, "run")}: cannot be created, {link} is a symbolic link to {target}, which does not exist");
        AssertOneLineError(Run("augment", "--run", Path.Combine(_dir, "run"), "--out", link, "--mix", "color"),
            $"gcn augment: error: {dangling}; --out expects a folder (new or empty)");
        AssertOneLineError(Run("data", "faces", "--out", link), $"gcn data: error: {dangling}; --out expects a folder (new or empty)");
        AssertOneLineError(Run("demo", "--out", link), $"gcn demo: error: {dangling}; --out expects a folder");
        // a relative link is named by the full path it leads to; a loop of links is named as one
        string png = Path.Combine(_dir, "picture.png");
        File.CreateSymbolicLink(png, "elsewhere.png");
        AssertOneLineError(Run("generate", "--run", Path.Combine(_dir, "run"), "--features", "shape=dot", "--out", png),
            $"gcn generate: error: --out {png}: is a symbolic link to {Path.Combine(_dir, "elsewhere.png")}, which does not exist; not writing through it");
        string loop = Path.Combine(_dir, "loop");
        File.CreateSymbolicLink(loop, loop);
        AssertOneLineError(Run("train", "--config", config, "--data", data, "--out", loop, "--device", "cpu"),
            $"gcn train: error: {loop}: is a symbolic link to {loop}, which leads back to itself (a loop of links); --out expects a folder for the run");
        Assert.That(Directory.Exists(Path.Combine(_dir, "gone")), Is.False, "nothing created through the link");
    }

    /// <summary>Output that asks the run to stop, as Ctrl-C does, once a line starting with <paramref name="trigger"/> is written.</summary>
    private sealed class StopAfterLine(string trigger, CancellationTokenSource stop) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.StartsWith(trigger, StringComparison.Ordinal) == true) stop.Cancel();
        }
    }

    /// <summary>Runs a command that is stopped (as by Ctrl-C) after the log line of iteration <paramref name="iteration"/>.</summary>
    private static (int Code, string Out, string Err) RunStoppedAfter(int iteration, params string[] args)
    {
        using var stop = new CancellationTokenSource();
        var o = new StopAfterLine($"{iteration,9} |", stop);
        var e = new StringWriter();
        int code = GcnNative.Cli.Cli.Run(args, o, e, stop.Token);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void CtrlCStopsTheRunAndSaysHowToContinue()
    {
        string data = MakeToyData(Path.Combine(_dir, "data"));
        string config = ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, "run"), checkpoint = Path.Combine(run, "checkpoint.safetensors");
        string[] train = ["train", "--config", config, "--data", data, "--out", run, "--device", "cpu"];
        // stopped after iteration 30: the checkpoint of iteration 20 is where the run resumes, and nothing is saved for the stop
        var r = RunStoppedAfter(30, train);
        Assert.That(r.Code, Is.EqualTo(130), r.Err + r.Out);
        Assert.That(r.Err.Split('\r').Last(), Is.EqualTo(
            $"gcn train: interrupted (Ctrl-C): stopped after iteration 30 of 40; the last checkpoint is iteration 20 ({checkpoint}); " +
            $"resume with: gcn {string.Join(' ', train)} --resume" + Environment.NewLine));
        Assert.That(GcnNative.IO.SafeTensors.Load(checkpoint).Metadata["iteration"], Is.EqualTo("20"));
        var resumed = Run([.. train, "--resume"]);
        Assert.That(resumed.Code, Is.EqualTo(0), resumed.Err + resumed.Out);
        Assert.That(resumed.Out, Does.Contain("iterations 21..40 (20 this time)"));
        // resumed and stopped again: --resume is not given twice
        var again = RunStoppedAfter(50, [.. train, "--resume", "--iterations", "60"]);
        Assert.That(again.Err.Split('\r').Last(), Does.EndWith(
            $"stopped after iteration 50 of 60; the last checkpoint is iteration 40 ({checkpoint}); " +
            $"resume with: gcn {string.Join(' ', train)} --resume --iterations 60" + Environment.NewLine));

        // stopped before the first checkpoint: the same command starts it again (a word with a space is quoted)
        string fresh = Path.Combine(_dir, "run two");
        var first = RunStoppedAfter(10, "train", "--config", config, "--data", data, "--out", fresh, "--device", "cpu");
        Assert.That(first.Code, Is.EqualTo(130), first.Err + first.Out);
        Assert.That(first.Err.Split('\r').Last(), Is.EqualTo(
            "gcn train: interrupted (Ctrl-C): stopped after iteration 10 of 40, before the first checkpoint (due at iteration 20); " +
            $"start again with: gcn train --config {config} --data {data} --out '{fresh}' --device cpu" + Environment.NewLine));
        Assert.That(File.Exists(Path.Combine(fresh, "checkpoint.safetensors")), Is.False);
        var restart = Run("train", "--config", config, "--data", data, "--out", fresh, "--device", "cpu");
        Assert.That(restart.Code, Is.EqualTo(0), restart.Err + restart.Out);
        Assert.That(restart.Out, Does.Contain("training again from iteration 0"));
    }
}
