namespace GcnNative.IO;

/// <summary>
/// Symbolic links an output path may turn out to be. <see cref="File.Exists"/> is true for a
/// link that leads nowhere, so without this a dangling link reads as "is a file".
/// </summary>
public static class SymbolicLinks
{
    /// <summary>
    /// What <paramref name="path"/> is when it is a symbolic link leading nowhere, as a message
    /// fragment ("a symbolic link to /x/y, which does not exist"); null for anything else (no
    /// link, or a link to a file or folder that exists).
    /// </summary>
    public static string? DescribeDangling(string path)
    {
        string full = Path.GetFullPath(path);
        if (new FileInfo(full).LinkTarget is not { } first || Directory.Exists(full)) return null;
        FileSystemInfo? target;
        try { target = File.ResolveLinkTarget(full, returnFinalTarget: true); }
        catch (IOException) { return $"a symbolic link to {first}, which leads back to itself (a loop of links)"; }
        return target is null || target.Exists ? null : $"a symbolic link to {target.FullName}, which does not exist";
    }
}
