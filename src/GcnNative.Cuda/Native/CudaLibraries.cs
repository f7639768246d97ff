namespace GcnNative.Cuda.Native;

/// <summary>
/// The three CUDA libraries, loaded once per process (per search options): each either bound
/// or with a one-line reason why not. Loading needs no GPU; using them does.
/// </summary>
internal sealed class CudaLibraries
{
    private static readonly object Gate = new();
    private static CudaLibraries? _default;

    public required IReadOnlyList<string> Directories { get; init; }
    public required LibraryLookup DriverLookup { get; init; }
    public CuDriver? Driver { get; init; }
    public string? DriverProblem { get; init; }
    public LibraryLookup? BlasLookup { get; init; }
    public LibraryLookup? BlasLtLookup { get; init; }
    public CuBlas? Blas { get; init; }
    public string? BlasProblem { get; init; }
    public LibraryLookup? DnnLookup { get; init; }
    public CuDnn? Dnn { get; init; }
    public string? DnnProblem { get; init; }
    public IReadOnlyList<LibraryLookup> Preloaded { get; init; } = [];

    /// <summary>One line: why the driver library cannot be used (null when it can).</summary>
    public string? DriverUnavailableReason =>
        DriverProblem is null ? null
        : DriverLookup.Loaded || DriverLookup.Problem?.Contains("not loadable", StringComparison.Ordinal) == true
            ? DriverProblem
            : $"{DriverProblem} — no NVIDIA driver on this machine";

    /// <summary>The libraries found with the default search (cached: native loads are process-wide).</summary>
    public static CudaLibraries Default
    {
        get
        {
            lock (Gate) return _default ??= Load(CudaSearchOptions.Default);
        }
    }

    public static CudaLibraries Load(CudaSearchOptions options)
    {
        var dirs = options.Directories ?? LibraryLocator.DefaultDirectories();
        bool system = options.UseSystemLoader;

        // driver
        var driverLookup = LibraryLocator.Load("driver", ["libcuda.so.1"], dirs, system);
        CuDriver? driver = null;
        string? driverProblem = driverLookup.Problem;
        if (driverLookup.Loaded) driver = CuDriver.Bind(driverLookup, out driverProblem);

        // cuBLAS: libcublasLt of the same major version first, from the same folder when possible
        LibraryLookup? blasLookup = null, ltLookup = null;
        CuBlas? blas = null;
        string? blasProblem = null;
        var blasProblems = new List<string>();
        foreach (var major in new[] { 13, 12 })
        {
            var lt = LibraryLocator.Load("cublasLt", [$"libcublasLt.so.{major}"], dirs, system);
            if (!lt.Loaded) { blasProblems.Add(lt.Problem!); continue; }
            var lib = LibraryLocator.Load("cublas", [$"libcublas.so.{major}"], dirs, system,
                lt.Path is null ? null : [Path.GetDirectoryName(lt.Path)!]);
            if (!lib.Loaded) { blasProblems.Add(lib.Problem!); continue; }
            ltLookup = lt;
            blasLookup = lib;
            blas = CuBlas.Bind(lib, lt, out blasProblem);
            break;
        }
        if (blasLookup is null) blasProblem = Shorten(blasProblems);

        // cuDNN: the shim, then everything it dlopens by bare name, pre-loaded by full path
        var preloaded = new List<LibraryLookup>();
        var dnnLookup = LibraryLocator.Load("cudnn", ["libcudnn.so.9"], dirs, system);
        CuDnn? dnn = null;
        string? dnnProblem = dnnLookup.Problem;
        if (dnnLookup.Loaded)
        {
            var near = new List<string>();
            if (dnnLookup.Path is not null && Path.IsPathRooted(dnnLookup.Path)) near.Add(Path.GetDirectoryName(dnnLookup.Path)!);
            if (ltLookup?.Path is not null && Path.IsPathRooted(ltLookup.Path)) near.Add(Path.GetDirectoryName(ltLookup.Path)!);
            preloaded.AddRange(PreloadDnnDependencies(dirs, system, near));
            dnn = CuDnn.Bind(dnnLookup, preloaded, out dnnProblem);
        }

        return new CudaLibraries
        {
            Directories = dirs,
            DriverLookup = driverLookup,
            Driver = driver,
            DriverProblem = driverProblem,
            BlasLookup = blasLookup,
            BlasLtLookup = ltLookup,
            Blas = blas,
            BlasProblem = blasProblem,
            DnnLookup = dnnLookup,
            Dnn = dnn,
            DnnProblem = dnnProblem,
            Preloaded = preloaded,
        };
    }

    /// <summary>
    /// Loads NVRTC (and its builtins), libz, and the cuDNN sub-libraries by full path, the folder
    /// of libcudnn.so.9 first. Passes repeat while one succeeds, because a sub-library loads only
    /// after the ones it links against.
    /// </summary>
    private static List<LibraryLookup> PreloadDnnDependencies(IReadOnlyList<string> dirs, bool system, List<string> near)
    {
        var result = new List<LibraryLookup>();
        foreach (var major in new[] { 13, 12 })
        {
            var nvrtc = LibraryLocator.Load("nvrtc", [$"libnvrtc.so.{major}"], dirs, system, near);
            if (!nvrtc.Loaded) continue;
            result.Add(nvrtc);
            // nvrtc opens libnvrtc-builtins.so.<major>.<minor> by bare name
            var folder = nvrtc.Path is not null && Path.IsPathRooted(nvrtc.Path) ? Path.GetDirectoryName(nvrtc.Path) : null;
            if (folder is not null)
                foreach (var builtins in Directory.GetFiles(folder, $"libnvrtc-builtins.so.{major}*"))
                    if (LibraryLocator.TryLoad(builtins, out var h, out var err))
                        result.Add(new LibraryLookup("nvrtc-builtins", builtins, h, null, [folder]));
                    else
                        result.Add(new LibraryLookup("nvrtc-builtins", builtins, IntPtr.Zero, err, [folder]));
            break;
        }
        result.Add(LibraryLocator.Load("z", ["libz.so.1"], dirs, system, near));

        var pending = CuDnn.SubLibraries.ToList();
        var failed = new Dictionary<string, LibraryLookup>();
        bool progress = true;
        while (pending.Count > 0 && progress)
        {
            progress = false;
            foreach (var name in pending.ToList())
            {
                var lookup = LibraryLocator.Load(name, [name], dirs, system, near);
                if (lookup.Loaded)
                {
                    result.Add(lookup);
                    pending.Remove(name);
                    failed.Remove(name);
                    progress = true;
                }
                else
                {
                    failed[name] = lookup;
                }
            }
        }
        result.AddRange(failed.Values);
        return result;
    }

    private static string Shorten(List<string> problems) =>
        problems.Count == 0 ? "not found" : string.Join("; ", problems.Distinct());
}
