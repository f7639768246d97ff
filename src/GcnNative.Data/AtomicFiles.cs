namespace GcnNative.Data;

/// <summary>
/// Writes files so that readers never see a half-written result: every file is first written
/// under a temporary name in the destination folder (same volume, so the final rename is cheap)
/// and only when all of them are complete are they moved over the real names.
/// </summary>
internal static class AtomicFiles
{
    /// <summary>Writes one file atomically.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        WriteAll(dir, new[] { (Path.GetFileName(full), write) });
    }

    /// <summary>
    /// Writes a group of files into <paramref name="dir"/>. If any writer throws, all temporary
    /// files are deleted and the existing files are left untouched. Files are moved into place in
    /// the given order, so put the file that marks a complete set (e.g. a manifest) last.
    /// I/O failures become a <see cref="GcnDataException"/> naming the folder.
    /// </summary>
    public static void WriteAll(string dir, IReadOnlyList<(string Name, Action<Stream> Write)> files)
    {
        try
        {
            WriteAllCore(dir, files);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Disk full, read-only folder, a file where the folder should be: a user problem, not a bug.
            throw new GcnDataException($"{dir}: could not write {string.Join(", ", files.Select(f => f.Name))} ({ex.Message})", ex);
        }
    }

    private static void WriteAllCore(string dir, IReadOnlyList<(string Name, Action<Stream> Write)> files)
    {
        Directory.CreateDirectory(dir);
        var temps = new List<string>();
        try
        {
            foreach (var (name, write) in files)
            {
                string temp = Path.Combine(dir, $".{name}.{Guid.NewGuid():N}.tmp");
                temps.Add(temp);
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                write(stream);
                stream.Flush(flushToDisk: true);
            }
        }
        catch
        {
            foreach (string temp in temps) TryDelete(temp);
            throw;
        }

        int moved = 0;
        try
        {
            for (; moved < files.Count; moved++)
                File.Move(temps[moved], Path.Combine(dir, files[moved].Name), overwrite: true);
        }
        finally
        {
            // Only reached with temps left when a rename failed (e.g. a folder has the target name).
            for (int i = moved; i < temps.Count; i++) TryDelete(temps[i]);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* best effort: a stray .tmp is harmless, the real files are intact */ }
        catch (UnauthorizedAccessException) { }
    }
}
