using System.Text;
using System.Text.RegularExpressions;
using GcnNative.Cuda.Native;

namespace GcnNative.Cuda;

/// <summary>One native library as the doctor found it.</summary>
public sealed record CudaLibraryStatus(string Name, string? Path, string? Version, string? Problem);

/// <summary>What <see cref="CudaDoctor.Run()"/> found out about CUDA on this machine.</summary>
public sealed record CudaReport
{
    /// <summary>True when a <see cref="CudaBackend"/> was created and ran a small convolution.</summary>
    public bool CanTrain { get; init; }

    /// <summary>One line saying why CUDA cannot be used (null when <see cref="CanTrain"/>).</summary>
    public string? UnavailableReason { get; init; }

    /// <summary>False when it stopped at the driver (no libcuda, cuInit failed, no device).</summary>
    public bool DriverUsable { get; init; }

    public string? DriverApiVersion { get; init; }
    public string? KernelModuleVersion { get; init; }
    public int DeviceCount { get; init; }
    public string? DeviceName { get; init; }
    public (int Major, int Minor)? ComputeCapability { get; init; }
    public int Multiprocessors { get; init; }
    public long TotalMemory { get; init; }
    public long FreeMemory { get; init; }
    public IReadOnlyList<CudaLibraryStatus> Libraries { get; init; } = [];

    /// <summary>Sub-libraries, JIT messages, kernel problems, algorithm choices.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// The report as text: a single line "cuda: unavailable: ..." when the driver cannot be used,
    /// otherwise one line per item, ending with "cuda: can train: yes" or the reason.
    /// </summary>
    public string Format()
    {
        if (!DriverUsable) return $"cuda: unavailable: {UnavailableReason}";
        var s = new StringBuilder();
        if (DeviceName is not null)
        {
            var cc = ComputeCapability is { } c ? $"compute {c.Major}.{c.Minor}" : "compute ?";
            s.AppendLine($"cuda: device 0 of {DeviceCount}: {DeviceName}, {cc}, {Multiprocessors} SMs, "
                         + $"{Gib(TotalMemory)} ({(FreeMemory > 0 ? Gib(FreeMemory) + " free" : "free unknown")})");
        }
        s.AppendLine($"cuda: driver: CUDA {DriverApiVersion ?? "?"} API, kernel module {KernelModuleVersion ?? "?"}");
        foreach (var lib in Libraries)
            s.AppendLine(lib.Problem is null
                ? $"cuda: {lib.Name,-9} {lib.Version ?? ""} {lib.Path}".Replace("  ", " ")
                : $"cuda: {lib.Name,-9} MISSING: {lib.Problem}");
        foreach (var note in Notes) s.AppendLine($"cuda:   {note}");
        s.Append(CanTrain ? "cuda: can train: yes" : $"cuda: unavailable: {UnavailableReason}");
        return s.ToString();
    }

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F1} GiB";
}

/// <summary>
/// Checks, step by step, whether this machine can train on CUDA: the driver library, cuInit,
/// a device, cuBLAS, cuDNN (and the sub-libraries it loads), the PTX kernels, and finally a
/// real backend running a small convolution. Never throws for a missing piece: it reports it.
/// </summary>
public static class CudaDoctor
{
    /// <summary>Runs the checks with the default library search.</summary>
    public static CudaReport Run() => Run(CudaSearchOptions.Default);

    /// <summary>Runs the checks with a given library search (tests use an empty folder).</summary>
    public static unsafe CudaReport Run(CudaSearchOptions search)
    {
        var libs = ReferenceEquals(search, CudaSearchOptions.Default) ? CudaLibraries.Default : CudaLibraries.Load(search);
        var libraries = new List<CudaLibraryStatus>
        {
            new("libcuda", libs.DriverLookup.Path, null, libs.DriverProblem),
            new("cublasLt", libs.BlasLtLookup?.Path, null, libs.BlasLtLookup is null ? libs.BlasProblem : null),
            new("cublas", libs.BlasLookup?.Path, SafeVersion(() => libs.Blas?.Version()), libs.BlasProblem),
            new("cudnn", libs.DnnLookup?.Path, SafeVersion(() => libs.Dnn?.Version()), libs.DnnProblem),
        };
        var notes = new List<string>();
        var pre = libs.Preloaded;
        if (pre.Count > 0)
        {
            var loaded = pre.Where(p => p.Loaded).Select(p => Path.GetFileName(p.Path ?? p.Library));
            var missing = pre.Where(p => !p.Loaded).Select(p => $"{p.Library} ({p.Problem})");
            notes.Add($"pre-loaded for cuDNN: {string.Join(", ", loaded)}");
            if (missing.Any()) notes.Add($"not pre-loaded: {string.Join("; ", missing)}");
        }

        var driver = libs.Driver;
        if (driver is null)
            return new CudaReport { UnavailableReason = libs.DriverUnavailableReason, Libraries = libraries, Notes = notes };

        int status = driver.cuInit(0);
        if (status != 0)
        {
            var reason = driver.Error(status, "cuInit", libs.DriverLookup.Path?.Contains("/stubs/") == true
                ? $"{libs.DriverLookup.Path} is a stub" : null).Message;
            return new CudaReport { UnavailableReason = Strip(reason), Libraries = libraries, Notes = notes };
        }

        int version = 0, count = 0;
        driver.cuDriverGetVersion(&version);
        driver.cuDeviceGetCount(&count);
        string api = $"{version / 1000}.{version % 1000 / 10}";
        string? module = KernelModule();
        libraries[0] = libraries[0] with { Version = $"CUDA {api}" };
        if (count == 0)
            return new CudaReport
            {
                UnavailableReason = "cuDeviceGetCount: 0 devices — " + StatusText.DriverHint(100),
                DriverApiVersion = api, KernelModuleVersion = module, Libraries = libraries, Notes = notes,
            };

        int dev, major = 0, minor = 0, sms = 0;
        nuint total = 0;
        string name = "?";
        try
        {
            driver.Check(driver.cuDeviceGet(&dev, 0), "cuDeviceGet");
            driver.cuDeviceGetAttribute(&major, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            driver.cuDeviceGetAttribute(&minor, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            driver.cuDeviceGetAttribute(&sms, CuDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
            driver.cuDeviceTotalMem(&total, dev);
            name = CudaBackend.DeviceNameOf(driver, dev);
        }
        catch (CudaException e)
        {
            return new CudaReport
            {
                UnavailableReason = Strip(e.Message), DriverApiVersion = api, KernelModuleVersion = module,
                DeviceCount = count, Libraries = libraries, Notes = notes,
            };
        }

        // the real test: a backend (context, cuBLAS and cuDNN handles, JIT of every kernel
        // file) running a small convolution, which makes cuDNN load its sub-libraries
        string? why = null;
        long free = 0;
        try
        {
            using var backend = new CudaBackend(new CudaBackendOptions { Search = search });
            var g = ConvGeometry.Create(2, 3, 9, 9, 5, kernel: 3, stride: 2, pad: 1);
            var hx = Enumerable.Range(0, Tensor.CountOf(g.XShape)).Select(i => (i % 7) * 0.25f - 0.5f).ToArray();
            var hw = Enumerable.Range(0, Tensor.CountOf(g.WShape)).Select(i => (i % 5) * 0.125f - 0.25f).ToArray();
            var expected = new float[Tensor.CountOf(g.YShape)];
            GcnNative.Cpu.CpuReference.ConvForward(g, hx, hw, expected);
            using var x = backend.Allocate(g.XShape);
            using var w = backend.Allocate(g.WShape);
            using var y = backend.Allocate(g.YShape);
            backend.Upload(x, hx);
            backend.Upload(w, hw);
            backend.ConvForward(g, x, w, y);
            var got = y.ToArray();
            double worst = expected.Zip(got, (e, a) => Math.Abs(e - a)).Max();
            if (worst > 1e-3) why = $"the test convolution differs from the CPU reference by {worst:G3}";
            nuint f = 0, t = 0;
            driver.cuMemGetInfo(&f, &t);
            free = (long)f;
            notes.Add($"kernels: {KernelCatalog.Files.Count()} PTX files, {KernelCatalog.All.Length} entries, "
                      + (backend.KernelProblems.Count == 0 ? "all JIT-compiled" : $"{backend.KernelProblems.Count} problems"));
            notes.AddRange(backend.KernelProblems.Select(p => $"kernel problem: {p}"));
            notes.AddRange(backend.ConvolutionPlans.Select(p => $"test convolution: {p}"));
            if (backend.KernelProblems.Count > 0) why ??= $"PTX kernels failed to load: {backend.KernelProblems[0]}";
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            why = Strip(e.Message);
        }

        return new CudaReport
        {
            CanTrain = why is null,
            UnavailableReason = why,
            DriverUsable = true,
            DriverApiVersion = api,
            KernelModuleVersion = module,
            DeviceCount = count,
            DeviceName = name,
            ComputeCapability = (major, minor),
            Multiprocessors = sms,
            TotalMemory = (long)total,
            FreeMemory = free,
            Libraries = libraries,
            Notes = notes,
        };
    }

    /// <summary>
    /// Prints the report; exit code 0 when this machine can train on CUDA, 1 when it cannot
    /// (the last line says why).
    /// </summary>
    public static int Run(TextWriter output)
    {
        var report = Run();
        output.WriteLine(report.Format());
        return report.CanTrain ? 0 : 1;
    }

    private static string? SafeVersion(Func<string?> f)
    {
        try { return f(); }
        catch (Exception) { return null; }
    }

    /// <summary>One line, without a leading "cuda: unavailable: " or "cuda: ".</summary>
    private static string Strip(string message)
    {
        var line = CudaBackend.OneLineReason(message);
        return line.StartsWith("cuda: ", StringComparison.Ordinal) ? line["cuda: ".Length..] : line;
    }

    /// <summary>The NVIDIA kernel module's version, e.g. "580.65.06", from /proc (null if absent).</summary>
    private static string? KernelModule()
    {
        try
        {
            const string path = "/proc/driver/nvidia/version";
            if (!File.Exists(path)) return null;
            var m = Regex.Match(File.ReadAllText(path), @"Kernel Module\s+(?:for\s+\S+\s+)?([0-9][0-9.]+)");
            return m.Success ? m.Groups[1].Value : null;
        }
        catch (Exception)
        {
            return null;
        }
    }
}

/// <summary>The GPU-vs-CPU verification as a command (`gcn verify --device cuda`).</summary>
public static class CudaVerify
{
    /// <summary>
    /// Runs every backend operation on the CPU reference and on CUDA and compares them (see
    /// <see cref="GcnNative.Verify.BackendVerifier"/>). Exit code 0 when all pass, 1 when some
    /// fail, 2 (with one line saying why) when CUDA is unavailable.
    /// </summary>
    public static int Run(TextWriter output, bool tf32)
    {
        if (!CudaBackend.TryCreate(tf32, out var cuda, out var whyNot))
        {
            output.WriteLine($"cuda: unavailable: {whyNot}");
            return 2;
        }

        using (cuda)
        using (var cpu = new GcnNative.Cpu.CpuBackend(GcnNative.Cpu.CpuPath.Reference))
        {
            foreach (var p in cuda!.KernelProblems) output.WriteLine($"cuda: kernel problem: {p}");
            var verifier = new GcnNative.Verify.BackendVerifier(cpu, cuda, output,
                new GcnNative.Verify.VerifierSettings { Tf32 = tf32 });
            bool ok;
            try
            {
                ok = verifier.RunAll();
            }
            finally
            {
                foreach (var plan in cuda.ConvolutionPlans) output.WriteLine($"cuda: plan {plan}");
            }
            return ok ? 0 : 1;
        }
    }
}
