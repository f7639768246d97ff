namespace GcnNative;

/// <summary>
/// A counter-based random number: the value for (seed, index) is a pure function, so the
/// CPU and CUDA backends draw the same dropout masks and tests can compare them exactly.
/// The mix is a 32-bit integer finaliser (xor-shift / multiply rounds).
/// </summary>
public static class CounterRng
{
    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public static float Uniform(ulong seed, uint index)
    {
        uint x = index * 0x9E3779B9u + (uint)seed;
        x ^= (uint)(seed >> 32) * 0x85EBCA6Bu;
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return (x >> 8) * (1.0f / 16777216.0f);
    }
}
