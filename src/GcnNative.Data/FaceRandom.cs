namespace GcnNative.Data;

/// <summary>
/// A small deterministic generator (SplitMix64) so that generated data is identical on every
/// run, machine and .NET version (System.Random's seeded sequence is not a documented contract).
/// </summary>
internal sealed class FaceRandom
{
    private ulong _state;

    public FaceRandom(ulong seed) => _state = seed;

    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Range(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n) => (int)(NextULong() % (ulong)n);
}
