using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using GcnNative.IO;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>What a training run is asked to do (command-line values override the config).</summary>
public sealed record TrainOptions(
    string RunDir,
    string DataDir,
    int? Iterations = null,
    int? Batch = null,
    int? Seed = null,
    float? ClassificationWeight = null,
    bool Resume = false,
    string ConfigSource = "config",
    string? SplitId = null,
    string? DataHash = null);

/// <summary>Stops a run with a message (non-finite loss, bad resume state, ...).</summary>
public sealed class TrainingException(string message) : Exception(message);

/// <summary>
/// A run stopped on request (Ctrl-C) between iterations. Nothing is saved at the stop: the last
/// checkpoint, if there is one, is where <c>--resume</c> starts.
/// </summary>
public sealed class TrainingStoppedException(int iteration, int iterations, int? checkpointIteration, string checkpoint, int firstCheckpoint)
    : Exception(checkpointIteration is { } saved
        ? $"stopped after iteration {iteration} of {iterations}; the last checkpoint is iteration {saved} ({checkpoint})"
        : $"stopped after iteration {iteration} of {iterations}, before the first checkpoint (due at iteration {firstCheckpoint})")
{
    /// <summary>Iterations trained when the run stopped.</summary>
    public int Iteration { get; } = iteration;

    /// <summary>The iteration of the checkpoint a resume starts from; null when there is none yet.</summary>
    public int? CheckpointIteration { get; } = checkpointIteration;
}

/// <summary>
/// The training loop: settings table, batches from an epoch sampler, one fixed-width log
/// line every <c>log_every</c> iterations (and JSONL beside it), a progress line with rate
/// and ETA, sample grids, atomic checkpoints, resume, and a loss-curve picture at the end.
/// </summary>
public sealed class Trainer
{
    public const string CheckpointFile = "checkpoint.safetensors";
    public const string ConfigFile = "config.json";
    public const string RunInfoFile = "run.json";
    public const string MetricsFile = "metrics.jsonl";

    private readonly GcnConfig _config;
    private readonly IBackend _backend;
    private readonly ILabeledImages _data;
    private readonly IReadOnlyList<int> _train;
    private readonly IReadOnlyList<int> _heldout;
    private readonly TrainOptions _options;
    private readonly TextWriter _out;
    private readonly TextWriter? _progress;

    public Trainer(GcnConfig config, IBackend backend, ILabeledImages data, IReadOnlyList<int> trainIndices,
        IReadOnlyList<int> heldoutIndices, TrainOptions options, TextWriter output, TextWriter? progress)
    {
        _config = config;
        _backend = backend;
        _data = data;
        _train = trainIndices;
        _heldout = heldoutIndices;
        _options = options;
        _out = output;
        _progress = progress;
        if (options.Iterations is { } it) config.Training.Iterations = it;
        if (options.Batch is { } b) config.Training.Batch = b;
        if (options.Seed is { } s) config.Training.Seed = s;
        if (options.ClassificationWeight is { } w) config.Loss.ClassificationWeight = w;
        config.Validate(options.ConfigSource);
    }

    public GcnModel? Model { get; private set; }

    /// <summary>
    /// The run folder a training may use: new or empty, or a start stopped before its first
    /// checkpoint (<see cref="IsUnfinishedStart"/>), or (with <paramref name="resume"/>) one
    /// holding a checkpoint. Anything else is refused before a file is written.
    /// </summary>
    public static void CheckRunFolder(string runDir, bool resume)
    {
        string checkpoint = Path.Combine(runDir, CheckpointFile);
        if (File.Exists(runDir))
            throw new TrainingException($"{runDir}: is {SymbolicLinks.DescribeDangling(runDir) ?? "a file"}; --out expects a folder for the run");
        for (var up = Directory.GetParent(Path.GetFullPath(runDir)); up is not null; up = up.Parent)
            if (File.Exists(up.FullName))
                throw new TrainingException(
                    $"{runDir}: cannot be created, {up.FullName} is {SymbolicLinks.DescribeDangling(up.FullName) ?? "a file"}");
        if (!resume && File.Exists(checkpoint))
            throw new TrainingException(
                $"{checkpoint}: a run already exists here; pass --resume to continue it or choose another --out");
        if (resume && !File.Exists(checkpoint))
            throw new TrainingException($"{checkpoint}: nothing to resume (no checkpoint)");
        CheckRunEntries(runDir);
        if (!resume && Directory.Exists(runDir) && Directory.EnumerateFileSystemEntries(runDir).Any() && !IsUnfinishedStart(runDir))
            throw new TrainingException(
                $"{runDir}: not empty and holds no run; give --out an empty or new folder (a run writes several files there)");
    }

    /// <summary>
    /// The names a run writes must not already be something else: samples/ a folder, the other
    /// files files. Found at the first sample grid or at the end, the clash would cost the
    /// training done; it is refused before any.
    /// </summary>
    private static void CheckRunEntries(string runDir)
    {
        if (!Directory.Exists(runDir)) return;
        string samples = Path.Combine(runDir, "samples");
        if (File.Exists(samples) && !Directory.Exists(samples))
            throw new TrainingException(
                $"{samples}: is {SymbolicLinks.DescribeDangling(samples) ?? "a file"}; the run writes its sample grids into a folder of this name " +
                "(move the file away or give another --out)");
        foreach (string name in new[] { CheckpointFile, ConfigFile, RunInfoFile, MetricsFile, "loss.png", RunLock.FileName })
        {
            string path = Path.Combine(runDir, name);
            if (Directory.Exists(path))
                throw new TrainingException($"{path}: is a folder; the run writes a file of this name (move the folder away or give another --out)");
        }
    }

    /// <summary>
    /// A run folder left by a start stopped before its first checkpoint: nothing in it but the
    /// files a run writes (config, run info, metrics, samples/*.png, loss.png, the lock file,
    /// temporary files).
    /// Training there again starts over and writes those files anew.
    /// </summary>
    public static bool IsUnfinishedStart(string runDir)
    {
        if (File.Exists(Path.Combine(runDir, CheckpointFile))) return false;
        foreach (string entry in Directory.EnumerateFileSystemEntries(runDir))
        {
            string name = Path.GetFileName(entry);
            bool ours = name is ConfigFile or RunInfoFile or MetricsFile or "loss.png" or RunLock.FileName || AtomicFile.IsTemporary(name);
            if (name == "samples" && Directory.Exists(entry))
                ours = Directory.EnumerateFileSystemEntries(entry).All(f =>
                    Path.GetFileName(f).StartsWith("iter-", StringComparison.Ordinal) && f.EndsWith(".png", StringComparison.Ordinal) && File.Exists(f));
            else if (Directory.Exists(entry)) ours = false;
            if (!ours) return false;
        }
        return true;
    }


    /// <summary>
    /// Runs to the configured iteration count; returns the path of the final checkpoint.
    /// <paramref name="cancel"/> stops the run before its next iteration with a
    /// <see cref="TrainingStoppedException"/> naming the last checkpoint (none is written for the stop).
    /// </summary>
    public string Run(CancellationToken cancel = default)
    {
        var t = _config.Training;
        string checkpoint = Path.Combine(_options.RunDir, CheckpointFile);
        CheckRunFolder(_options.RunDir, _options.Resume);
        string savedConfig = Path.Combine(_options.RunDir, ConfigFile);
        if (_options.Resume && File.Exists(savedConfig)) CheckResumedConfig(File.ReadAllText(savedConfig), savedConfig);
        if (_options.Resume) CheckResumedData();
        if (_train.Count == 0)
            throw new TrainingException($"{Path.Combine(_options.DataDir, "heldout.csv")}: holds out every image; nothing is left to train on");

        // everything that can fail on bad input is checked before the run folder is created
        var model = new GcnModel(_config, _backend, t.Batch, t.Seed, _options.ConfigSource);
        Model = model;
        var feeder = new BatchFeeder(_config, _data, t.Batch, _options.DataDir);
        var sampler = new EpochSampler(_train, t.Seed);
        Directory.CreateDirectory(_options.RunDir);
        // held to the end of the run: a second gcn process training here stops before writing anything
        using var runLock = RunLock.Acquire(_options.RunDir);
        // checked again under the lock: another process may have trained here since the first check
        CheckRunFolder(_options.RunDir, _options.Resume);
        bool restart = !_options.Resume &&
                       Directory.EnumerateFileSystemEntries(_options.RunDir).Any(e => Path.GetFileName(e) != RunLock.FileName);
        AtomicFile.RemoveLeftovers(_options.RunDir);   // a killed run's half-written checkpoint or metrics
        if (restart)
        {
            // the earlier start's sample grids would mix with this one's (IsUnfinishedStart
            // checked that samples/ holds nothing else)
            string samples = Path.Combine(_options.RunDir, "samples");
            int removed = 0;
            if (Directory.Exists(samples))
                foreach (string grid in Directory.GetFiles(samples, "iter-*.png"))
                {
                    File.Delete(grid);
                    removed++;
                }
            _out.WriteLine($"{_options.RunDir}: a start with no checkpoint is here; training again from iteration 0" +
                           (removed > 0 ? $" (its {removed} sample grid{(removed == 1 ? "" : "s")} removed)" : ""));
        }
        int start = 0;
        if (_options.Resume)
        {
            start = model.LoadCheckpoint(checkpoint, requireOptimizerState: true);
            // config.json deleted: the checkpoint's own copy of the config is the reference
            if (!File.Exists(savedConfig) && model.LoadedConfigJson is { } trainedWith)
                CheckResumedConfig(trainedWith, checkpoint + " (its config)");
            // run.json deleted: the checkpoint's own record of the data and split is the reference
            if (RunInfo.ReadIfPresent(_options.RunDir) is null && model.LoadedMetadata is { } own)
                CheckResumedData(own.GetValueOrDefault("data_hash"), own.GetValueOrDefault("split"), checkpoint + " (its metadata)");
            if (File.Exists(savedConfig)) CheckResumedIteration(start, checkpoint, File.ReadAllText(savedConfig), savedConfig);
            else if (model.LoadedConfigJson is { } ownConfig) CheckResumedIteration(start, checkpoint, ownConfig, "its config");
            if (start >= t.Iterations)
                throw new TrainingException(
                    $"{checkpoint}: is at iteration {start}; --iterations {t.Iterations} leaves nothing to train (give more than {start})");
            sampler.Skip(start, t.Batch);
            _out.WriteLine($"resumed from {checkpoint} at iteration {start}");
        }
        AtomicFile.WriteText(Path.Combine(_options.RunDir, ConfigFile), _config.ToJson());
        WriteRunInfo();
        PrintSettings(model);

        var metricsPath = Path.Combine(_options.RunDir, MetricsFile);
        // lines logged after the checkpoint were trained again from it: drop them, start the
        // loss curve from the lines kept, and count seconds on from the last of them
        var (history, secondsBefore) = _options.Resume ? KeepMetricsUpTo(metricsPath, start) : (new List<LossPoint>(), 0.0);
        using var metrics = new StreamWriter(metricsPath, append: _options.Resume, new UTF8Encoding(false));
        var batch = new int[t.Batch];
        var sampleIndices = SampleIndices();
        var clock = Stopwatch.StartNew();
        var window = Stopwatch.StartNew();
        int windowStart = start;
        int? saved = _options.Resume ? start : null;   // the checkpoint a stop leaves to resume from
        PrintHeader();

        for (int it = start; it < t.Iterations; it++)
        {
            if (cancel.IsCancellationRequested)
            {
                _progress?.Write("\r" + new string(' ', 100) + "\r");
                throw new TrainingStoppedException(it, t.Iterations, saved, checkpoint, Math.Min(t.CheckpointEvery, t.Iterations));
            }
            sampler.Next(batch);
            feeder.Fill(model, batch);
            bool log = (it + 1) % t.LogEvery == 0 || it == start || it + 1 == t.Iterations;
            // on the CPU reading the losses costs nothing, so every iteration is checked for NaN
            bool read = log || _backend.Name == "cpu";
            var losses = model.TrainIteration(it, read);
            if (losses is not null && !losses.IsFinite)
                throw new TrainingException(
                    $"iteration {it + 1}: loss is not finite (classifier {losses.ClassifierLoss}, generator {losses.GeneratorLoss}, pixel {losses.Pixel}); " +
                    $"{LastGoodCheckpoint(saved, checkpoint)}. Lower optimizer.lr or loss.classification_weight.");
            if (log && losses is not null)
            {
                _backend.Synchronize();
                double ms = window.Elapsed.TotalMilliseconds / Math.Max(1, it + 1 - windowStart);
                PrintLine(it + 1, losses, ms);
                WriteMetrics(metrics, it + 1, losses, ms, secondsBefore + clock.Elapsed.TotalSeconds);
                history.Add(new LossPoint(it + 1, losses.ClassifierLoss, losses.Pixel, losses.GeneratedCe.Select(v => (double)v).ToArray()));
                window.Restart();
                windowStart = it + 1;
            }
            if ((it + 1) % t.SampleEvery == 0 || it + 1 == t.Iterations)
                SaveSamples(model, feeder, sampleIndices, it + 1);
            if ((it + 1) % t.CheckpointEvery == 0 || it + 1 == t.Iterations)
            {
                try { model.SaveCheckpoint(checkpoint, it + 1, withOptimizerState: true, DataMetadata()); }
                catch (InvalidDataException e)   // weights no longer finite: the last good checkpoint stays
                {
                    throw new TrainingException(
                        $"iteration {it + 1}: the weights are not finite ({e.Message}); {LastGoodCheckpoint(saved, checkpoint)}. " +
                        "Lower optimizer.lr or loss.classification_weight.");
                }
                saved = it + 1;
            }
            ReportProgress(it + 1 - start, t.Iterations - start, clock.Elapsed, it + 1);
        }
        _progress?.Write("\r" + new string(' ', 100) + "\r");
        if (history.Count > 0) SaveLossCurve(history);
        string trained = start == 0 ? $"{t.Iterations} iterations" : $"iterations {start + 1}..{t.Iterations} ({t.Iterations - start} this time)";
        _out.WriteLine($"done: {trained} in {clock.Elapsed.TotalMinutes:F1} min; checkpoint {checkpoint}");
        return checkpoint;
    }

    /// <summary>Where a run stopped by a non-finite loss can go on from: its last checkpoint, or none yet.</summary>
    private string LastGoodCheckpoint(int? saved, string checkpoint) => saved is { } iteration
        ? $"the last good checkpoint is {checkpoint} (iteration {iteration})"
        : $"no checkpoint has been saved yet (the first is due at iteration {Math.Min(_config.Training.CheckpointEvery, _config.Training.Iterations)})";

    /// <summary>
    /// A checkpoint is never past the iterations its run was set to train (training.iterations
    /// of the config it was trained with, <paramref name="configJson"/> from <paramref name="source"/>):
    /// an iteration beyond them is a damaged or foreign checkpoint, not one to resume.
    /// </summary>
    private static void CheckResumedIteration(int start, string checkpoint, string configJson, string source)
    {
        int? planned;
        try
        {
            planned = System.Text.Json.Nodes.JsonNode.Parse(configJson)?["training"]?["iterations"] is System.Text.Json.Nodes.JsonValue v
                      && v.TryGetValue(out int n) ? n : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return; }   // reported by CheckResumedConfig
        if (planned is { } p && start > p)
            throw new TrainingException(
                $"{checkpoint}: metadata field 'iteration' is {start}, more than the {p} iterations {source} sets; " +
                "the checkpoint is damaged or from another run");
    }

    private void WriteRunInfo()
    {
        var info = new Dictionary<string, object>
        {
            ["data"] = Path.GetFullPath(_options.DataDir),
            ["config"] = _config.Name,
            ["device"] = _backend.Name,
            ["split"] = _options.SplitId ?? "",
            ["data_hash"] = _options.DataHash ?? "",
            ["created"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture),
            // value names let `gcn generate` accept "color=red" without the data set
            ["features"] = _config.Features.ToDictionary(f => f.Name, f =>
                _data.FeatureValues[_data.FeatureNames.ToList().IndexOf(f.Name)]),
        };
        AtomicFile.WriteText(Path.Combine(_options.RunDir, RunInfoFile),
            JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }));
    }

    private void PrintSettings(GcnModel model)
    {
        var c = _config;
        var rows = new List<(string, string)>
        {
            ("config", $"{c.Name} ({_options.ConfigSource})"),
            ("device", $"{_backend.Name}: {_backend.Description}"),
            ("data", $"{_options.DataDir}: {_data.Count} images, {_train.Count} train, {_heldout.Count} held out"),
            ("image", $"{c.Image.Channels}x{c.Image.Height}x{c.Image.Width}"),
            ("features", string.Join(", ", c.Features.Select(f => $"{f.Name}({f.Classes})"))),
            ("generator", $"{model.ParameterCount(model.Generator.Parameters):N0} parameters"),
            ("classifier", $"{model.ParameterCount(model.Classifier.Parameters):N0} parameters"),
            ("loss", $"pixel x {c.Loss.PixelWeight} + classification x {c.Loss.ClassificationWeight}" +
                     $" (feature weights {FeatureWeights()}), classifier warm-up {c.Loss.ClassifierWarmup} it, cooperative {c.Loss.Cooperative}"),
            ("optimizer", $"Adam lr {c.Optimizer.Lr:G3} betas ({c.Optimizer.Beta1}, {c.Optimizer.Beta2}) eps {c.Optimizer.Eps:G2}," +
                          $" x{c.Optimizer.LrGamma} every {c.Optimizer.LrStep} it, weight decay {c.Optimizer.WeightDecay}"),
            ("schedule", $"{c.Training.Iterations} iterations, batch {c.Training.Batch}, seed {c.Training.Seed}"),
            ("cadence", $"log every {c.Training.LogEvery}, samples every {c.Training.SampleEvery}, checkpoint every {c.Training.CheckpointEvery}"),
            ("run", Path.GetFullPath(_options.RunDir)),
        };
        int w = rows.Max(r => r.Item1.Length);
        _out.WriteLine(new string('-', 100));
        foreach (var (k, v) in rows) _out.WriteLine($"{k.PadRight(w)} | {v}");
        _out.WriteLine(new string('-', 100));
    }

    private string FeatureWeights() =>
        string.Join(" ", _config.Features.Select(f => $"{f.Name}={_config.Loss.FeatureWeights.GetValueOrDefault(f.Name, 1f)}"));

    private void PrintHeader()
    {
        var ce = string.Concat(_config.Features.Select(f => $" {Abbrev(f.Name),7}"));
        _out.WriteLine($"{"iter",9} | {"L_C",7} {"accC",5} | {"L_G",8} {"pixel",8}{ce} {"accG",5} | {"lr",8} | {"ms/it",7} {"img/s",6}");
    }

    private static string Abbrev(string name) => "ce." + (name.Length > 4 ? name[..4] : name);

    private void PrintLine(int it, IterationLosses l, double ms)
    {
        var ce = string.Concat(l.GeneratedCe.Select(v => $" {v,7:F4}"));
        double accC = l.ClassifierAccuracy.Average(), accG = l.GeneratedAccuracy.Average();
        double imgs = _config.Training.Batch * 1000.0 / ms;
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{it,9} | {l.ClassifierLoss,7:F4} {accC,5:F3} | {l.GeneratorLoss,8:F4} {l.Pixel,8:F4}{ce} {accG,5:F3} | {FormatLr(l.LearningRate),8} | {ms,7:F1} {imgs,6:F0}"));
    }

    private static string FormatLr(float lr) => lr.ToString("0.00e-00", CultureInfo.InvariantCulture);

    private void WriteMetrics(StreamWriter w, int it, IterationLosses l, double ms, double seconds)
    {
        var f = _config.Features.Select(x => x.Name).ToArray();
        var row = new Dictionary<string, object>
        {
            ["iteration"] = it,
            ["seconds"] = Math.Round(seconds, 2),
            ["lr"] = l.LearningRate,
            ["classification_weight"] = l.ClassificationWeight,
            ["classifier_loss"] = l.ClassifierLoss,
            ["generator_loss"] = l.GeneratorLoss,
            ["pixel_loss"] = l.Pixel,
            ["ms_per_iter"] = Math.Round(ms, 2),
            ["images_per_s"] = Math.Round(_config.Training.Batch * 1000.0 / ms, 1),
        };
        for (int i = 0; i < f.Length; i++)
        {
            row[$"classifier_ce.{f[i]}"] = l.ClassifierCe[i];
            row[$"classifier_acc.{f[i]}"] = l.ClassifierAccuracy[i];
            row[$"generated_ce.{f[i]}"] = l.GeneratedCe[i];
            row[$"generated_acc.{f[i]}"] = l.GeneratedAccuracy[i];
        }
        w.WriteLine(JsonSerializer.Serialize(row));
        w.Flush();
    }

    private void ReportProgress(int done, int total, TimeSpan elapsed, int it)
    {
        if (_progress is null) return;
        double rate = done / Math.Max(1e-9, elapsed.TotalSeconds);
        var eta = TimeSpan.FromSeconds((total - done) / Math.Max(1e-9, rate));
        int width = 30, filled = (int)((long)width * done / Math.Max(1, total));
        _progress.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r[{new string('#', filled)}{new string('.', width - filled)}] {it}/{_config.Training.Iterations} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss}  "));
    }

    // a fixed set shown in every sample grid: training combinations, then held-out ones
    private int[] SampleIndices()
    {
        int n = Math.Min(_config.Training.Batch, 16);
        var rng = new Random(12345);
        var train = _train.OrderBy(_ => rng.Next()).Take(n / 2);
        var held = _heldout.OrderBy(_ => rng.Next()).Take(n - n / 2);
        return train.Concat(held).ToArray();
    }

    private void SaveSamples(GcnModel model, BatchFeeder feeder, int[] indices, int it)
    {
        feeder.Fill(model, indices, images: false);
        model.GenerateCurrent();
        int len = model.Generator.Output.ItemLength;
        var all = model.Generator.Output.ToArray();
        var real = new float[indices.Length * len];
        for (int i = 0; i < indices.Length; i++) _data.GetImage(indices[i], real.AsSpan(i * len, len));
        var grid = new float[2 * indices.Length * len];
        // row 1: generated, row 2: the real image of the same combination
        all.AsSpan(0, indices.Length * len).CopyTo(grid);
        real.CopyTo(grid.AsSpan(indices.Length * len));
        var img = _config.Image;
        Pictures.SaveGrid(Path.Combine(_options.RunDir, "samples", $"iter-{it:D6}.png"), grid,
            2 * indices.Length, img.Channels, img.Height, img.Width, indices.Length);
    }

    /// <summary>One logged iteration, as the loss curve draws it.</summary>
    private sealed record LossPoint(int It, double Classifier, double Pixel, double[] GeneratedCe);

    private void SaveLossCurve(List<LossPoint> history)
    {
        var x = history.Select(h => (double)h.It).ToArray();
        var series = new List<(string, double[])>
        {
            ("classifier loss", history.Select(h => h.Classifier).ToArray()),
            ("generator pixel loss", history.Select(h => h.Pixel).ToArray()),
        };
        for (int f = 0; f < _config.Features.Count; f++)
        {
            int ff = f;
            series.Add(($"generated CE {_config.Features[f].Name}", history.Select(h => h.GeneratedCe[ff]).ToArray()));
        }
        Pictures.SaveCurves(Path.Combine(_options.RunDir, "loss.png"), x, series);
    }

    /// <summary>
    /// Rewrites metrics.jsonl (atomically) with only its lines up to iteration
    /// <paramref name="last"/>, and returns them as loss-curve points, with the run's elapsed
    /// seconds at the last of them (the largest <c>seconds</c> kept; 0 when none). Lines logged
    /// after the checkpoint are dropped silently (they are trained again); a line that cannot
    /// be read is dropped with one warning naming the file and the line, the last line cut
    /// short by a kill among them.
    /// </summary>
    private (List<LossPoint> Points, double Seconds) KeepMetricsUpTo(string path, int last)
    {
        var points = new List<LossPoint>();
        double seconds = 0;
        if (!File.Exists(path)) return (points, seconds);
        string text = File.ReadAllText(path);
        var lines = text.Split('\n');
        // text ending in a newline splits into an empty last piece, which is no line
        int count = text.Length == 0 ? 0 : text.EndsWith('\n') ? lines.Length - 1 : lines.Length;
        var kept = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (ReadMetricsLine(line, last, out var point, out double lineSeconds) is { } problem)
            {
                bool torn = i == count - 1 && !text.EndsWith('\n');
                _out.WriteLine($"warning: {path}, line {i + 1}: dropped, " +
                               (torn ? "cut short (the last line of a run stopped while writing it)" : problem));
                continue;
            }
            if (point is null) continue;   // logged after the checkpoint: trained again
            kept.Append(line).Append('\n');
            points.Add(point);
            seconds = Math.Max(seconds, lineSeconds);
        }
        AtomicFile.WriteText(path, kept.ToString());
        return (points, seconds);
    }

    /// <summary>
    /// Reads one metrics line: null when it is one (<paramref name="point"/> is null for a line
    /// after iteration <paramref name="last"/>), else what is wrong with it. A line without
    /// <c>seconds</c> counts as 0 s.
    /// </summary>
    private string? ReadMetricsLine(string line, int last, out LossPoint? point, out double seconds)
    {
        point = null;
        seconds = 0;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException) { return "not valid JSON"; }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return "not a JSON object";
            if (!root.TryGetProperty("iteration", out var itValue) || itValue.ValueKind != JsonValueKind.Number || !itValue.TryGetInt32(out int it))
                return "no whole number 'iteration'";
            if (it > last) return null;
            var names = new[] { "classifier_loss", "pixel_loss" }.Concat(_config.Features.Select(f => $"generated_ce.{f.Name}")).ToArray();
            var values = new double[names.Length];
            for (int i = 0; i < names.Length; i++)
                if (!root.TryGetProperty(names[i], out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out values[i]))
                    return $"no number '{names[i]}'";
            if (root.TryGetProperty("seconds", out var s) && s.ValueKind == JsonValueKind.Number) seconds = s.GetDouble();
            point = new LossPoint(it, values[0], values[1], values[2..]);
            return null;
        }
    }

    /// <summary>
    /// A resumed run must train on the data it started with (same pixels and labels, wherever
    /// they are now) and hold out what it held out (an edited heldout.csv would train on images
    /// the run's evaluation counts as unseen). A damaged run.json is refused, naming the field.
    /// </summary>
    private void CheckResumedData()
    {
        var info = RunInfo.ReadIfPresent(_options.RunDir);
        if (info is not null) CheckResumedData(info.DataHash, info.Split, info.Path);
    }

    /// <summary>The data hash and split a run recorded (in run.json, or in its checkpoint) against the data set given now.</summary>
    private void CheckResumedData(string? dataHash, string? split, string recordedIn)
    {
        if (_options.DataHash is not null && !string.IsNullOrEmpty(dataHash) && dataHash != _options.DataHash)
            throw new TrainingException(
                $"{_options.DataDir}: is not the data set this run trained on (its pixels or labels differ from those recorded in {recordedIn}); " +
                "resume with the run's own data");
        if (_options.SplitId is not null && !string.IsNullOrEmpty(split) && split != _options.SplitId)
            throw new TrainingException(
                $"{Path.Combine(_options.DataDir, "heldout.csv")}: not the held-out split this run trained with " +
                $"({recordedIn} has split '{split}', the data set now gives '{_options.SplitId}'); resuming would train on images the run holds out. " +
                "Resume with the run's own heldout.csv, or train the new split into another --out");
    }

    /// <summary>What a checkpoint records of the data it was trained on, so a resume can check it without run.json.</summary>
    private Dictionary<string, string> DataMetadata()
    {
        var meta = new Dictionary<string, string>();
        if (_options.DataHash is not null) meta["data_hash"] = _options.DataHash;
        if (_options.SplitId is not null) meta["split"] = _options.SplitId;
        return meta;
    }

    /// <summary>
    /// A resumed run must train what its config.json says (only the schedule of iterations,
    /// logging, samples and checkpoints may change): otherwise config.json would stop being the
    /// exact config trained.
    /// </summary>
    private void CheckResumedConfig(string savedJson, string path)
    {
        System.Text.Json.Nodes.JsonObject Comparable(string json)
        {
            var o = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            o.Remove("description");
            if (o["training"] is System.Text.Json.Nodes.JsonObject training)
                foreach (string free in new[] { "iterations", "log_every", "sample_every", "checkpoint_every" }) training.Remove(free);
            return o;
        }
        System.Text.Json.Nodes.JsonObject saved;
        try { saved = Comparable(savedJson); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new TrainingException($"{path}: not a JSON config object; cannot check that --resume trains the same config");
        }
        var now = Comparable(_config.ToJson());
        var changed = new List<string>();
        foreach (string key in saved.Select(p => p.Key).Union(now.Select(p => p.Key)))
        {
            if (saved[key] is System.Text.Json.Nodes.JsonObject a && now[key] is System.Text.Json.Nodes.JsonObject b)
            {
                foreach (string sub in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                    if (!System.Text.Json.Nodes.JsonNode.DeepEquals(a[sub], b[sub])) changed.Add($"{key}.{sub}");
            }
            else if (!System.Text.Json.Nodes.JsonNode.DeepEquals(saved[key], now[key])) changed.Add(key);
        }
        if (changed.Count > 0)
            throw new TrainingException(
                $"{path}: --resume would train with different settings ({string.Join(", ", changed)}); " +
                "resume with the run's own settings, or train the new ones into another --out");
    }
}
