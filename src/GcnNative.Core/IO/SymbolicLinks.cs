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

    /// <summary>
    /// The path with every symbolic link along it resolved (each folder and the last name), as
    /// the system's realpath gives it; parts that do not exist are kept as written.
    /// </summary>
    /// <exception cref="IOException">More than 40 links in a row (a loop).</exception>
    public static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full)!;
        var rest = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        string current = root;
        for (int hops = 0; rest.Count > 0;)
        {
            string next = Path.Combine(current, rest.Dequeue());
            string? target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++hops > 40) throw new IOException($"{path}: too many symbolic links (a loop)");
            // a relative target is relative to the link's folder; go on from the target's parts
            string resolved = Path.GetFullPath(target, current);
            var remaining = rest.ToArray();
            string resolvedRoot = Path.GetPathRoot(resolved)!;
            rest = new Queue<string>(resolved[resolvedRoot.Length..]
                .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(remaining));
            current = resolvedRoot;
        }
        return current;
    }

    /// <summary>
    /// Whether <paramref name="path"/>, links resolved, lies inside <paramref name="folder"/>
    /// (links resolved too), not at it.
    /// </summary>
    public static bool LeadsInside(string folder, string path)
    {
        string inside = RealPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return RealPath(path).StartsWith(inside, StringComparison.Ordinal);
    }
}
