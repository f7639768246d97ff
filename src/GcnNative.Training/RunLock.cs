using System.Globalization;
using System.Text;

namespace GcnNative.Training;

/// <summary>
/// An exclusive lock on RUN/<see cref="FileName"/>, held by a training for its whole run, so
/// that two gcn processes never write into one run folder at once. The file is opened with
/// <see cref="FileShare.None"/>: on Linux and macOS .NET takes an advisory <c>flock</c> on it
/// (a second open, in this process or another, fails), on Windows the sharing mode is the lock.
/// The operating system drops the lock when the process ends, however it ends, so the file a
/// killed run leaves behind locks nothing; it is left in place (deleting it would let a process
/// that opened it just before lock a file no one else can see).
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>The lock file in the run folder (hidden; one of the files a run writes).</summary>
    public const string FileName = ".gcn.lock";

    private readonly FileStream _stream;

    private RunLock(FileStream stream) => _stream = stream;

    /// <summary>
    /// Locks <paramref name="runDir"/> (which must exist), or throws a <see cref="TrainingException"/>
    /// saying another gcn process holds it. Nothing else in the folder is touched.
    /// </summary>
    public static RunLock Acquire(string runDir)
    {
        string path = Path.Combine(runDir, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsLocked(e))
        {
            throw new TrainingException(
                $"{runDir}: in use by another gcn process ({path} is locked by the training running there); " +
                "wait for it to finish, or train into another --out");
        }
        // for a person looking: which process holds it (other gcn processes only try the lock)
        stream.SetLength(0);
        stream.Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"gcn train, process {Environment.ProcessId}, since {DateTime.UtcNow:o}\n")));
        stream.Flush();
        return new RunLock(stream);
    }

    /// <summary>
    /// Whether an open failed on the lock another process holds: EWOULDBLOCK from flock (11 on
    /// Linux, 35 on macOS), or a sharing or lock violation (32, 33) on Windows. Any other failure
    /// (permissions, a full disk) is reported as itself.
    /// </summary>
    private static bool IsLocked(IOException e) =>
        e.GetType() == typeof(IOException) &&
        (OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33 : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35));

    /// <summary>Releases the lock (the file stays).</summary>
    public void Dispose() => _stream.Dispose();
}
