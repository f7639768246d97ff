using System.Diagnostics;
using System.Text.Json.Nodes;
using GcnNative.Data;
using GcnNative.IO;
using NUnit.Framework;

namespace GcnNative.Tests.Cli;

/// <summary>
/// What a run folder holds is checked before it is trusted: the held-out split a resume or an
/// eval would use, every field of run.json, every value and metadata field of a checkpoint; and
/// one training at a time writes into a run folder. Each failure is one line naming the file
/// and what was expected, exit code 1.
/// </summary>
[TestFixture]
public class RunFolderSafetyTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "gcn-safety-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static void AssertOneLineError((int Code, string Out, string Err) r, params string[] fragments) =>
        CliTests.AssertOneLineError(r, fragments);

    /// <summary>Trains the toy config for 40 iterations (checkpoints at 20 and 40) into a new run folder.</summary>
    private (string Data, string Config, string Run) TrainToyRun(string name = "run")
    {
        string data = Path.Combine(_dir, "data");
        if (!Directory.Exists(data)) CliTests.MakeToyData(data);
        string config = CliTests.ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, name);
        var t = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu");
        Assert.That(t.Code, Is.EqualTo(0), t.Err + t.Out);
        return (data, config, run);
    }

    private static string[] Resume(string data, string config, string run, int iterations) =>
        ["train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--resume", "--iterations", $"{iterations}"];

    /// <summary>
    /// Every file under a folder with its bytes, to show that a refused command wrote nothing
    /// (the lock file by name only: while a training holds it, it cannot be opened).
    /// </summary>
    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Path.GetFileName(f) == ".gcn.lock" ? [] : File.ReadAllBytes(f));

    private static void AssertUnchanged(string dir, Dictionary<string, byte[]> before)
    {
        var now = Snapshot(dir);
        Assert.That(now.Keys, Is.EquivalentTo(before.Keys), "no file added or removed");
        foreach (var (f, bytes) in before) Assert.That(now[f], Is.EqualTo(bytes), f);
    }

    /// <summary>Rewrites a checkpoint with its tensors and metadata changed by <paramref name="edit"/>.</summary>
    private static void EditCheckpoint(string path, Action<Dictionary<string, float[]>, Dictionary<string, string>> edit)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        var data = tensors.ToDictionary(t => t.Key, t => t.Value.Data);
        edit(data, meta);
        SafeTensors.Save(path, tensors.Keys.Select(k => (k, tensors[k].Shape, data[k])).ToList(), meta);
    }

    private static string SplitOf(string data) => GcnNative.Training.Evaluation.SplitId(Dataset.Load(data));

    // ---- 1. the held-out split ------------------------------------------------------

    [Test]
    public void ResumeRefusesAChangedHeldOutSplit()
    {
        var (data, config, run) = TrainToyRun();
        string heldout = Path.Combine(data, Dataset.HeldoutFile), runJson = Path.Combine(run, "run.json");
        string trained = SplitOf(data);
        var before = Snapshot(run);
        // emptied: every image would be trained on
        File.WriteAllText(heldout, "");
        string emptied = SplitOf(data);
        Assert.That(emptied, Is.Not.EqualTo(trained));
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            $"gcn train: error: {heldout}: not the held-out split this run trained with ({runJson} has split '{trained}', " +
            $"the data set now gives '{emptied}'); resuming would train on images the run holds out. " +
            "Resume with the run's own heldout.csv, or train the new split into another --out");
        // edited: another combination held out
        File.WriteAllText(heldout, "shape,color,side\nbar,red,left\n");
        AssertOneLineError(Run(Resume(data, config, run, 60)), $"has split '{trained}'", $"now gives '{SplitOf(data)}'");
        AssertUnchanged(run, before);
        // the run's own split back: it resumes
        File.WriteAllText(heldout, "shape,color,side\ndot,blue,right\n");
        Assert.That(SplitOf(data), Is.EqualTo(trained));
        var r = Run(Resume(data, config, run, 60));
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        Assert.That(JsonNode.Parse(File.ReadAllText(runJson))!["split"]!.GetValue<string>(), Is.EqualTo(trained));
    }

    [Test]
    public void WithRunJsonDeletedTheCheckpointStillNamesTheSplitAndData()
    {
        var (data, config, run) = TrainToyRun();
        string heldout = Path.Combine(data, Dataset.HeldoutFile), checkpoint = Path.Combine(run, "checkpoint.safetensors");
        string trained = SplitOf(data);
        File.Delete(Path.Combine(run, "run.json"));
        File.WriteAllText(heldout, "");
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            $"gcn train: error: {heldout}: not the held-out split this run trained with ({checkpoint} (its metadata) has split '{trained}', " +
            $"the data set now gives '{SplitOf(data)}')");
        File.WriteAllText(heldout, "shape,color,side\ndot,blue,right\n");
        string other = CliTests.MakeToyData(Path.Combine(_dir, "other"), seed: 2);
        File.Copy(heldout, Path.Combine(other, Dataset.HeldoutFile), overwrite: true);
        AssertOneLineError(Run(Resume(other, config, run, 60)),
            $"{other}: is not the data set this run trained on (its pixels or labels differ from those recorded in {checkpoint} (its metadata))");
        var r = Run(Resume(data, config, run, 60));
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
    }

    [Test]
    public void EvalRefusesAChangedHeldOutSplit()
    {
        var (data, _, run) = TrainToyRun();
        string heldout = Path.Combine(data, Dataset.HeldoutFile), runJson = Path.Combine(run, "run.json");
        string trained = SplitOf(data);
        File.WriteAllText(heldout, "shape,color,side\nbar,red,left\n");
        var e = Run("eval", "--run", run, "--device", "cpu");
        AssertOneLineError(e,
            $"gcn eval: error: {heldout}: not the held-out split this run trained with ({runJson} has split '{trained}', " +
            $"the data set now gives '{SplitOf(data)}'); images the generator trained on would count as held out. " +
            "Evaluate with the run's own heldout.csv");
        Assert.That(File.Exists(Path.Combine(run, "eval.json")), Is.False);
        Assert.That(e.Out, Does.Not.Contain("evaluator:"), "refused before the evaluator is trained");
        // the demo's eval (--data given) is checked the same way
        AssertOneLineError(Run("eval", "--run", run, "--data", data, "--device", "cpu"), "not the held-out split this run trained with");
    }

    // ---- 2. run.json ----------------------------------------------------------------

    [Test]
    public void WrongTypedRunJsonFieldsAreNamed()
    {
        var (data, config, run) = TrainToyRun();
        string runJson = Path.Combine(run, "run.json");
        string original = File.ReadAllText(runJson);
        string png = Path.Combine(_dir, "g.png");
        string[] generate = ["generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--out", png, "--device", "cpu"];
        string[] eval = ["eval", "--run", run, "--device", "cpu"];
        string[] augment = ["augment", "--run", run, "--out", Path.Combine(_dir, "aug"), "--mix", "color", "--device", "cpu"];

        void With(Action<JsonObject> edit)
        {
            var o = JsonNode.Parse(original)!.AsObject();
            edit(o);
            File.WriteAllText(runJson, o.ToJsonString());
        }

        With(o => o["data"] = 123);
        AssertOneLineError(Run(eval), $"gcn eval: error: {runJson}: field 'data' must be a string, not a number");
        With(o => o["data"] = "");
        AssertOneLineError(Run(eval), $"{runJson}: field 'data' missing or empty; pass --data DIR");
        With(o => o["split"] = 7);
        AssertOneLineError(Run(eval), $"{runJson}: field 'split' must be a string, not a number");
        AssertOneLineError(Run(eval[..3].Concat(["--data", data, "--device", "cpu"]).ToArray()), "field 'split' must be a string");
        AssertOneLineError(Run(Resume(data, config, run, 60)), $"gcn train: error: {runJson}: field 'split' must be a string, not a number");
        With(o => o["data_hash"] = new JsonArray());
        AssertOneLineError(Run(Resume(data, config, run, 60)), $"{runJson}: field 'data_hash' must be a string, not an array");
        With(o => o["features"] = 5);
        AssertOneLineError(Run(generate), $"gcn generate: error: {runJson}: field 'features' must be an object (feature name: list of value names), not a number");
        AssertOneLineError(Run(augment), $"gcn augment: error: {runJson}: field 'features' must be an object");
        With(o => o["features"]!["color"] = new JsonArray(1, 2, 3));
        AssertOneLineError(Run(generate), $"{runJson}: field 'features.color[0]' must be a string (a value name), not a number");
        With(o => o["features"]!["color"] = "red");
        AssertOneLineError(Run(generate), $"{runJson}: field 'features.color' must be an array of value names (strings), not a string");
        With(o => o["features"]!["color"] = new JsonArray("red", "green"));
        AssertOneLineError(Run(generate), $"{runJson}: field 'features.color' lists 2 value names; the run's config gives color 3 classes");
        File.WriteAllText(runJson, "[1, 2]");
        AssertOneLineError(Run(eval), $"{runJson}: holds an array; expected a JSON object (the run.json that gcn train writes)");
        AssertOneLineError(Run(augment), $"{runJson}: holds an array; expected a JSON object");
        File.WriteAllText(runJson, "null");
        AssertOneLineError(Run(generate), $"{runJson}: holds null; expected a JSON object");

        // the checkpoint's metadata is JSON too: its values are strings
        File.WriteAllText(runJson, original);
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        var bytes = File.ReadAllBytes(checkpoint);
        string text = System.Text.Encoding.Latin1.GetString(bytes);
        int at = text.IndexOf("\"iteration\":\"40\"", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThan(0));
        System.Text.Encoding.Latin1.GetBytes("\"iteration\": 40 ").CopyTo(bytes, at);   // same length: the offsets stay valid
        File.WriteAllBytes(checkpoint, bytes);
        AssertOneLineError(Run(generate), $"{checkpoint}: __metadata__ field 'iteration' must be a string (safetensors metadata holds strings), not a number");
    }

    // ---- 3. non-finite values -------------------------------------------------------

    [Test]
    public void NonFiniteCheckpointValuesAreRefused()
    {
        var (data, config, run) = TrainToyRun();
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        string good = Path.Combine(_dir, "good.safetensors");
        File.Copy(checkpoint, good);
        string png = Path.Combine(_dir, "g.png");
        string[] generate = ["generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--out", png, "--device", "cpu"];

        EditCheckpoint(checkpoint, (t, _) => t["generator.trunk.0.weight"][4] = float.NaN);
        string nan = $"{checkpoint}: tensor 'generator.trunk.0.weight' holds NaN (value 5 of {8 * 3 * 64}); " +
                     "a checkpoint holds finite numbers only (damaged, or saved from a diverged run)";
        AssertOneLineError(Run(generate), "gcn generate: error: " + nan);
        Assert.That(File.Exists(png), Is.False, "no black picture");
        var e = Run("eval", "--run", run, "--device", "cpu");
        AssertOneLineError(e, "gcn eval: error: " + nan);
        Assert.That(File.Exists(Path.Combine(run, "eval.json")), Is.False);
        AssertOneLineError(Run(Resume(data, config, run, 60)), "gcn train: error: " + nan);
        AssertOneLineError(Run("augment", "--run", run, "--out", Path.Combine(_dir, "aug"), "--mix", "color", "--device", "cpu"),
            "gcn augment: error: " + nan);

        File.Copy(good, checkpoint, overwrite: true);
        EditCheckpoint(checkpoint, (t, _) => t["adam.m.classifier.body.0.bias"][1] = float.NegativeInfinity);
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            $"{checkpoint}: tensor 'adam.m.classifier.body.0.bias' holds -infinity (value 2 of 4)");
        File.Copy(good, checkpoint, overwrite: true);
        EditCheckpoint(checkpoint, (t, _) => t["adam.v.classifier.body.0.bias"][0] = -1);
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            $"{checkpoint}: tensor 'adam.v.classifier.body.0.bias' holds -1 (value 1 of 4); Adam's second moments are never negative");
    }

    [Test]
    public void OverflowingWeightsAreAnErrorInEvalAndTheLossStopNamesTheLastCheckpoint()
    {
        var (data, config, run) = TrainToyRun();
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        // finite, but every generated pixel overflows
        EditCheckpoint(checkpoint, (t, _) => Array.Fill(t["generator.trunk.3.weight"], 3e38f));
        string overflow = $"{checkpoint}: a generated image holds ";
        string why = ": the weights overflow, nothing sensible can be drawn or measured";
        var e = Run("eval", "--run", run, "--device", "cpu");
        AssertOneLineError(e, "gcn eval: error: " + overflow, why);
        Assert.That(e.Err, Does.Not.Contain("cannot be written as valid JSON"));
        Assert.That(File.Exists(Path.Combine(run, "eval.json")), Is.False);
        // no black picture either
        string png = Path.Combine(_dir, "g.png");
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--out", png, "--device", "cpu"),
            "gcn generate: error: " + overflow, why);
        AssertOneLineError(Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--mix", "color", "--with", "green",
            "--out", png, "--device", "cpu"), "gcn generate: error: " + overflow, why);
        Assert.That(File.Exists(png), Is.False);
        AssertOneLineError(Run("augment", "--run", run, "--out", Path.Combine(_dir, "aug"), "--mix", "color", "--device", "cpu"),
            "gcn augment: error: " + overflow, why);
        // resumed, the first iteration's loss is not finite: the checkpoint resumed from is the last good one
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            "gcn train: error: iteration 41: loss is not finite", $"; the last good checkpoint is {checkpoint} (iteration 40). Lower optimizer.lr");
    }

    [Test]
    public void ADamagedEvaluatorCacheIsTrainedAgain()
    {
        var (data, _, run) = TrainToyRun();
        var first = Run("eval", "--run", run, "--device", "cpu");
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        string cache = Directory.GetFiles(data, "evaluator-*.safetensors").Single();
        EditCheckpoint(cache, (t, _) => t["evaluator.body.0.weight"][0] = float.NaN);
        var again = Run("eval", "--run", run, "--device", "cpu");
        Assert.That(again.Code, Is.EqualTo(0), again.Err);
        Assert.That(again.Out, Does.Contain($"evaluator: {cache} is damaged (tensor 'evaluator.body.0.weight' holds NaN (value 1 of 108)); retraining"));
        Assert.That(SafeTensors.Load(cache).Tensors["evaluator.body.0.weight"].Data, Is.All.Not.NaN);
    }

    // ---- 4. checkpoint metadata -----------------------------------------------------

    [Test]
    public void DamagedCheckpointMetadataIsRefused()
    {
        var (data, config, run) = TrainToyRun();
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        string good = Path.Combine(_dir, "good.safetensors");
        File.Copy(checkpoint, good);
        string png = Path.Combine(_dir, "g.png");
        string[] generate = ["generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--out", png, "--device", "cpu"];
        void With(string field, string value)
        {
            File.Copy(good, checkpoint, overwrite: true);
            EditCheckpoint(checkpoint, (_, m) => m[field] = value);
        }

        With("iteration", "-5");
        string negative = $"{checkpoint}: metadata field 'iteration' must be a whole number >= 0, got '-5'";
        var r = Run(Resume(data, config, run, 60));
        AssertOneLineError(r, "gcn train: error: " + negative);
        Assert.That(r.Out, Does.Not.Contain("done:"));
        AssertOneLineError(Run(generate), "gcn generate: error: " + negative);
        AssertOneLineError(Run("eval", "--run", run, "--device", "cpu"), "gcn eval: error: " + negative);
        With("iteration", "ten");
        AssertOneLineError(Run(Resume(data, config, run, 60)), $"{checkpoint}: metadata field 'iteration' must be a whole number >= 0, got 'ten'");
        With("adam_step", "-1");
        AssertOneLineError(Run(Resume(data, config, run, 60)), $"{checkpoint}: metadata field 'adam_step' must be a whole number >= 0, got '-1'");
        With("adam_step", "7");
        AssertOneLineError(Run(Resume(data, config, run, 60)),
            $"{checkpoint}: metadata field 'adam_step' is 7 but 'iteration' is 40; a checkpoint gcn train writes has them equal (one Adam step per iteration)");
        With("format", "gcnnative-evaluator-1");
        AssertOneLineError(Run(generate), $"{checkpoint}: metadata field 'format' is 'gcnnative-evaluator-1', expected 'gcnnative-checkpoint-1'");

        // past the iterations the run was set to train (config.json says 40)
        File.Copy(good, checkpoint, overwrite: true);
        EditCheckpoint(checkpoint, (_, m) => (m["iteration"], m["adam_step"]) = ("45", "45"));
        string past = $"{checkpoint}: metadata field 'iteration' is 45, more than the 40 iterations {Path.Combine(run, "config.json")} sets; " +
                      "the checkpoint is damaged or from another run";
        AssertOneLineError(Run(Resume(data, config, run, 60)), "gcn train: error: " + past);
        AssertOneLineError(Run("eval", "--run", run, "--device", "cpu"), "gcn eval: error: " + past);
        AssertOneLineError(Run(generate), "gcn generate: error: " + past);
    }

    // ---- 5. one training per run folder ---------------------------------------------

    /// <summary>Output that runs <paramref name="action"/> once, when a line starting with <paramref name="trigger"/> is written.</summary>
    private sealed class OnLine(string trigger, Action action) : StringWriter
    {
        private bool _done;

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (_done || value?.StartsWith(trigger, StringComparison.Ordinal) != true) return;
            _done = true;
            action();
        }
    }

    [Test]
    public void ASecondTrainingInTheSameRunFolderIsRefusedBeforeWritingAnything()
    {
        string data = CliTests.MakeToyData(Path.Combine(_dir, "data"));
        string config = CliTests.ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, "run");
        string[] train = ["train", "--config", config, "--data", data, "--out", run, "--device", "cpu"];
        // while the first trains (after its iteration-10 line, before its first checkpoint), a second starts in the same folder
        (int Code, string Out, string Err) second = default;
        Dictionary<string, byte[]>? before = null, after = null;
        var output = new OnLine($"{10,9} |", () =>
        {
            before = Snapshot(run);
            second = Run(train);
            after = Snapshot(run);
        });
        var errors = new StringWriter();
        int first = GcnNative.Cli.Cli.Run(train, output, errors);
        Assert.That(first, Is.EqualTo(0), errors + output.ToString());
        AssertOneLineError(second,
            $"gcn train: error: {run}: in use by another gcn process ({Path.Combine(run, ".gcn.lock")} is locked by the training running there); " +
            "wait for it to finish, or train into another --out");
        Assert.That(after!.Keys, Is.EquivalentTo(before!.Keys));
        foreach (var (f, bytes) in before) Assert.That(after[f], Is.EqualTo(bytes), f);
        // the first run's metrics are whole: one line per logged iteration
        var iterations = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Select(l => JsonNode.Parse(l)!["iteration"]!.GetValue<int>());
        Assert.That(iterations, Is.EqualTo(new[] { 1, 10, 20, 30, 40 }));

        // a resume while a resume runs: the same
        (int Code, string Out, string Err) resumedAgain = default;
        var output2 = new OnLine($"{50,9} |", () => resumedAgain = Run([.. train, "--resume", "--iterations", "80"]));
        Assert.That(GcnNative.Cli.Cli.Run([.. train, "--resume", "--iterations", "60"], output2, errors), Is.EqualTo(0), errors.ToString());
        AssertOneLineError(resumedAgain, $"gcn train: error: {run}: in use by another gcn process");
        Assert.That(SafeTensors.Load(Path.Combine(run, "checkpoint.safetensors")).Metadata["iteration"], Is.EqualTo("60"));

        // eval and generate may read a run while it trains (its checkpoint is replaced atomically)
        (int Code, string Out, string Err) generated = default;
        string png = Path.Combine(_dir, "g.png");
        var output3 = new OnLine($"{70,9} |", () =>
            generated = Run("generate", "--run", run, "--features", "shape=dot,color=red,side=left", "--out", png, "--device", "cpu"));
        Assert.That(GcnNative.Cli.Cli.Run([.. train, "--resume", "--iterations", "80"], output3, errors), Is.EqualTo(0), errors.ToString());
        Assert.That(generated.Code, Is.EqualTo(0), generated.Err);
    }

    /// <summary>The gcn command line as a separate process (the build copies it beside the tests).</summary>
    private static Process StartGcn(params string[] args)
    {
        string dotnet = Path.Combine(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", "..")),
            OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gcn.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    [Test]
    public void ARunLockedByAnotherProcessIsRefused()
    {
        var (data, config, run) = TrainToyRun();
        string lockFile = Path.Combine(run, ".gcn.lock");
        var before = Snapshot(run);
        // this process holds the lock as a training does; the other process is refused
        using (new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            using var other = StartGcn(Resume(data, config, run, 60));
            var stderr = other.StandardError.ReadToEndAsync();
            string stdout = other.StandardOutput.ReadToEnd();
            other.WaitForExit();
            AssertOneLineError((other.ExitCode, stdout, stderr.Result),
                $"gcn train: error: {run}: in use by another gcn process ({lockFile} is locked by the training running there)");
            AssertUnchanged(run, before);
        }
    }

    [Test]
    public void ALockFileLeftByAKilledRunBlocksNothing()
    {
        string data = CliTests.MakeToyData(Path.Combine(_dir, "data"));
        string config = CliTests.ToyConfig(Path.Combine(_dir, "toy.json"));
        string run = Path.Combine(_dir, "run"), checkpoint = Path.Combine(run, "checkpoint.safetensors");
        using (var killed = StartGcn("train", "--config", config, "--data", data, "--out", run, "--device", "cpu", "--iterations", "100000000"))
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !killed.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
            Assert.That(killed.HasExited, Is.False, killed.HasExited ? killed.StandardError.ReadToEnd() : "");
            killed.Kill();
            killed.WaitForExit();
        }
        Assert.That(File.Exists(Path.Combine(run, ".gcn.lock")), Is.True);
        int at = int.Parse(SafeTensors.Load(checkpoint).Metadata["iteration"]);
        var r = Run(Resume(data, config, run, at + 20));
        Assert.That(r.Code, Is.EqualTo(0), r.Err + r.Out);
        Assert.That(r.Out, Does.Contain($"resumed from {checkpoint} at iteration {at}"));

        // a start killed before its first checkpoint: its lock file is one of the run's files, not a foreign one
        string fresh = Path.Combine(_dir, "fresh");
        Directory.CreateDirectory(fresh);
        foreach (string f in new[] { "config.json", "run.json", "metrics.jsonl", ".gcn.lock" })
            File.WriteAllText(Path.Combine(fresh, f), "partial");
        var again = Run("train", "--config", config, "--data", data, "--out", fresh, "--device", "cpu");
        Assert.That(again.Code, Is.EqualTo(0), again.Err + again.Out);
        Assert.That(again.Out, Does.Contain("training again from iteration 0"));
        // a new folder: the lock file is the run's own, nothing to "train again" from
        var newRun = Run("train", "--config", config, "--data", data, "--out", Path.Combine(_dir, "new"), "--device", "cpu");
        Assert.That(newRun.Code, Is.EqualTo(0), newRun.Err);
        Assert.That(newRun.Out, Does.Not.Contain("training again"));
    }

    // ---- 6. a non-finite loss before the first checkpoint -----------------------------

    [Test]
    public void ANonFiniteLossBeforeTheFirstCheckpointSaysThereIsNone()
    {
        string data = CliTests.MakeToyData(Path.Combine(_dir, "data"));
        string config = CliTests.ToyConfig(Path.Combine(_dir, "toy.json"));
        // a finite but absurd weight (3e38 x the cross-entropy is beyond a float) makes the first loss infinite
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"optimizer\": {", "\"loss\": { \"classification_weight\": 3e38 }, \"optimizer\": {"));
        string run = Path.Combine(_dir, "run");
        var r = Run("train", "--config", config, "--data", data, "--out", run, "--device", "cpu");
        AssertOneLineError(r, "loss is not finite",
            "; no checkpoint has been saved yet (the first is due at iteration 20). Lower optimizer.lr or loss.classification_weight.");
        Assert.That(r.Err, Does.Not.Contain("the last good checkpoint"));
        Assert.That(File.Exists(Path.Combine(run, "checkpoint.safetensors")), Is.False);
    }
}
