using System.Runtime.InteropServices;

namespace GcnNative.Cuda.Native;

/// <summary>Where to look for the CUDA libraries.</summary>
public sealed record CudaSearchOptions
{
    /// <summary>
    /// The folders to probe, in order; null means the default list
    /// (<see cref="LibraryLocator.DefaultDirectories"/>).
    /// </summary>
    public IReadOnlyList<string>? Directories { get; init; }

    /// <summary>Whether to try the bare soname through the system loader (ld.so cache) last.</summary>
    public bool UseSystemLoader { get; init; } = true;

    public static CudaSearchOptions Default { get; } = new();
}

/// <summary>The outcome of looking for one native library.</summary>
public sealed record LibraryLookup(
    string Library,
    string? Path,
    IntPtr Handle,
    string? Problem,
    IReadOnlyList<string> Searched)
{
    public bool Loaded => Handle != IntPtr.Zero;

    /// <summary>The soname that was loaded (file name of <see cref="Path"/>).</summary>
    public string? FileName => Path is null ? null : System.IO.Path.GetFileName(Path);
}

/// <summary>
/// Finds and loads the CUDA libraries by full path from an ordered list of folders, so that
/// the program works without LD_LIBRARY_PATH and can say exactly what it found:
/// <list type="number">
/// <item>GCN_CUDA_LIB_DIR (colon-separated folders), the explicit override;</item>
/// <item>the folders of LD_LIBRARY_PATH;</item>
/// <item>the folder of the running program;</item>
/// <item>/usr/local/cuda*/lib64 (and targets/x86_64-linux/lib), /usr/lib/x86_64-linux-gnu, /usr/lib64, /usr/lib/wsl/lib;</item>
/// <item>Python wheels: site-packages/nvidia/*/lib (cu13/lib, cublas/lib, cudnn/lib, ...) under
/// /usr/lib/python3*, /usr/local/lib/python3*, $VIRTUAL_ENV, $CONDA_PREFIX and ~/.local;</item>
/// <item>finally the bare soname through the system loader (ld.so cache).</item>
/// </list>
/// Versioned sonames only (libcuda.so.1, libcublas.so.13): unversioned names are development
/// symlinks that runtime installs and wheels do not have, and a toolkit's stubs folder is
/// never searched (its libcuda.so is a stub that fails with CUDA_ERROR_STUB_LIBRARY).
/// </summary>
public static class LibraryLocator
{
    /// <summary>The environment variable naming extra library folders, searched first.</summary>
    public const string OverrideVariable = "GCN_CUDA_LIB_DIR";

    /// <summary>The default probe list (only folders that exist), in order, without duplicates.</summary>
    public static IReadOnlyList<string> DefaultDirectories()
    {
        var dirs = new List<string>();
        void AddList(string? colonSeparated)
        {
            if (string.IsNullOrWhiteSpace(colonSeparated)) return;
            foreach (var d in colonSeparated.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                dirs.Add(d);
        }

        AddList(Environment.GetEnvironmentVariable(OverrideVariable));
        AddList(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"));
        dirs.Add(AppContext.BaseDirectory);

        dirs.Add("/usr/local/cuda/lib64");
        dirs.Add("/usr/local/cuda/targets/x86_64-linux/lib");
        foreach (var cuda in Glob("/usr/local", "cuda-*").OrderByDescending(d => d, StringComparer.Ordinal))
        {
            dirs.Add(Path.Combine(cuda, "lib64"));
            dirs.Add(Path.Combine(cuda, "targets/x86_64-linux/lib"));
        }
        dirs.Add("/usr/lib/x86_64-linux-gnu");
        dirs.Add("/usr/lib64");
        dirs.Add("/usr/lib/wsl/lib");

        foreach (var site in SitePackages())
        {
            // CUDA 13 wheels share one folder; CUDA 12 wheels have one per package
            foreach (var sub in new[] { "cu13/lib", "cublas/lib", "cudnn/lib", "cuda_nvrtc/lib", "cu12/lib" })
                dirs.Add(Path.Combine(site, "nvidia", sub));
            foreach (var pkg in Glob(Path.Combine(site, "nvidia"), "*"))
                dirs.Add(Path.Combine(pkg, "lib"));
        }
        var conda = Environment.GetEnvironmentVariable("CONDA_PREFIX");
        if (!string.IsNullOrEmpty(conda)) dirs.Add(Path.Combine(conda, "lib"));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var d in dirs)
        {
            string full;
            try { full = Path.GetFullPath(d).TrimEnd('/'); }
            catch (Exception) { continue; }
            if (full.Contains("/stubs", StringComparison.Ordinal)) continue;
            if (Directory.Exists(full) && seen.Add(full)) result.Add(full);
        }
        return result;
    }

    private static IEnumerable<string> SitePackages()
    {
        var roots = new List<string> { "/usr/lib", "/usr/local/lib" };
        var venv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        if (!string.IsNullOrEmpty(venv)) roots.Add(Path.Combine(venv, "lib"));
        var conda = Environment.GetEnvironmentVariable("CONDA_PREFIX");
        if (!string.IsNullOrEmpty(conda)) roots.Add(Path.Combine(conda, "lib"));
        var home = Environment.GetEnvironmentVariable("HOME");
        if (!string.IsNullOrEmpty(home)) roots.Add(Path.Combine(home, ".local/lib"));

        foreach (var root in roots)
        foreach (var py in Glob(root, "python3*"))
        foreach (var kind in new[] { "site-packages", "dist-packages" })
        {
            var site = Path.Combine(py, kind);
            if (Directory.Exists(site)) yield return site;
        }
    }

    private static IEnumerable<string> Glob(string parent, string pattern)
    {
        try
        {
            return Directory.Exists(parent) ? Directory.GetDirectories(parent, pattern) : [];
        }
        catch (Exception)
        {
            return [];
        }
    }

    /// <summary>
    /// Loads the first of <paramref name="sonames"/> found, folder by folder (the folder order is
    /// the priority; within a folder the sonames in the order given), then by bare soname
    /// through the system loader when allowed. A file that exists but does not load is recorded
    /// and the search goes on.
    /// </summary>
    public static LibraryLookup Load(string library, IReadOnlyList<string> sonames, IReadOnlyList<string> directories,
        bool useSystemLoader, IEnumerable<string>? preferredDirectories = null)
    {
        var order = new List<string>();
        if (preferredDirectories is not null) order.AddRange(preferredDirectories);
        order.AddRange(directories);
        var problems = new List<string>();
        var searched = new List<string>();
        foreach (var dir in order.Distinct(StringComparer.Ordinal))
        {
            searched.Add(dir);
            foreach (var soname in sonames)
            {
                var path = Path.Combine(dir, soname);
                if (!File.Exists(path)) continue;
                if (TryLoad(path, out var handle, out var error))
                    return new LibraryLookup(library, path, handle, null, searched);
                problems.Add($"{path}: {error}");
            }
        }

        if (useSystemLoader)
        {
            foreach (var soname in sonames)
            {
                if (TryLoad(soname, out var handle, out _))
                    return new LibraryLookup(library, LoadedPath(soname) ?? soname, handle, null, searched);
            }
        }

        string where = searched.Count == 0 ? "no folders" : string.Join(", ", searched);
        string what = string.Join(" or ", sonames);
        string problem = problems.Count > 0
            ? $"{what} found but not loadable: {string.Join("; ", problems)}"
            : $"{what} not found (searched: {where}{(useSystemLoader ? "; and the system loader" : "")})";
        return new LibraryLookup(library, null, IntPtr.Zero, problem, searched);
    }

    /// <summary>dlopen by path or name; the error text is the loader's (dlerror) message.</summary>
    public static bool TryLoad(string pathOrName, out IntPtr handle, out string? error)
    {
        try
        {
            handle = NativeLibrary.Load(pathOrName);
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or ArgumentException)
        {
            handle = IntPtr.Zero;
            error = e.Message.ReplaceLineEndings(" ");
            return false;
        }
    }

    /// <summary>The file a library loaded by bare name came from (read from /proc/self/maps).</summary>
    public static string? LoadedPath(string soname)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/');
                if (slash < 0) continue;
                var path = line[slash..].Trim();
                if (Path.GetFileName(path) == soname) return path;
                // the file may be the real versioned name behind the soname symlink
                if (Path.GetFileName(path).StartsWith(soname + ".", StringComparison.Ordinal)) return path;
            }
        }
        catch (Exception)
        {
            // no /proc: report the soname only
        }
        return null;
    }

    /// <summary>Resolves an export, or zero.</summary>
    public static IntPtr Export(IntPtr handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out var address) ? address : IntPtr.Zero;
}
