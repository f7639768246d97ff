using System.Globalization;

namespace GcnNative.Benchmarking;

/// <summary>
/// What one benchmark case holds at once: its largest tensor in elements, and its memory in
/// bytes (its tensors, and the host array a random tensor is filled from).
/// </summary>
public readonly record struct BenchFootprint(string Name, long LargestTensor, long Bytes);

/// <summary>
/// Checks a benchmark's batch before anything is allocated: one tensor holds at most
/// <see cref="int.MaxValue"/> elements, and the largest case must fit in a share of the memory
/// this process may use. Without the check a too-large batch was an internal error
/// ("tensor ... too large") or grew until the system killed the process.
/// </summary>
public static class BenchLimits
{
    /// <summary>
    /// Share of <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/> a benchmark may plan for; the
    /// rest is the runtime's, garbage not yet collected, and other processes'.
    /// </summary>
    public const double MemoryShare = 0.75;

    /// <summary>Memory this process may use: physical memory or the container's limit.</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Why <paramref name="batch"/> cannot run, in one line naming <paramref name="option"/>, the
    /// case, the limit and the largest batch that fits; null when it can.
    /// </summary>
    /// <param name="option">The option the batch came from ("--batch").</param>
    /// <param name="batch">The batch asked for.</param>
    /// <param name="footprints">The benchmark's cases at a batch.</param>
    /// <param name="availableBytes">Memory the cases' tensors count against; 0 to check tensor sizes only
    /// (the tensors of a GPU backend are not in this process's memory).</param>
    public static string? TooLarge(string option, int batch, Func<int, IReadOnlyList<BenchFootprint>> footprints,
        long availableBytes)
    {
        long budget = (long)(availableBytes * MemoryShare);
        var cases = footprints(batch);
        var tensor = cases.MaxBy(c => c.LargestTensor);
        if (tensor.LargestTensor > int.MaxValue)
            return $"{option} {batch}: {tensor.Name} would need a tensor of {tensor.LargestTensor} elements, " +
                   $"more than one tensor holds ({int.MaxValue}); {Largest(option, batch, b => Fits(footprints(b), budget))}";
        if (availableBytes <= 0) return null;
        var memory = cases.MaxBy(c => c.Bytes);
        if (memory.Bytes > budget)
            return $"{option} {batch}: {memory.Name} needs about {Gb(memory.Bytes)} of memory, more than " +
                   $"{MemoryShare * 100:F0}% of the {Gb(availableBytes)} this process may use; " +
                   $"{Largest(option, batch, b => Fits(footprints(b), budget))}";
        return null;
    }

    private static bool Fits(IReadOnlyList<BenchFootprint> cases, long budget) =>
        cases.All(c => c.LargestTensor <= int.MaxValue && (budget <= 0 || c.Bytes <= budget));

    /// <summary>"the largest --batch that fits is N" (footprints grow with the batch, so a bisection finds it).</summary>
    private static string Largest(string option, int batch, Func<int, bool> fits)
    {
        if (!fits(1)) return $"not even {option} 1 fits";
        int lo = 1, hi = batch;   // fits(lo), !fits(hi)
        while (hi - lo > 1)
        {
            int mid = lo + (hi - lo) / 2;
            if (fits(mid)) lo = mid; else hi = mid;
        }
        return $"the largest {option} that fits is {lo}";
    }

    private static string Gb(long bytes) => (bytes / 1e9).ToString("F1", CultureInfo.InvariantCulture) + " GB";
}
