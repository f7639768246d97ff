namespace GcnNative.Data;

/// <summary>
/// The eight transformations of the faces sets (spec section 5.2): four rotations times an
/// optional horizontal mirror, identity included.
/// </summary>
/// <remarks>
/// Names and indices: 0..3 = <c>r0 r90 r180 r270</c>, a rotation by that many degrees
/// counter-clockwise as displayed (row 0 at the top, as for MNIST); 4..7 =
/// <c>m0 m90 m180 m270</c>, the image first mirrored left-right, then rotated the same way.
/// </remarks>
public static class FaceTransforms
{
    /// <summary>The transformation names in index order.</summary>
    public static readonly IReadOnlyList<string> Names = new[] { "r0", "r90", "r180", "r270", "m0", "m90", "m180", "m270" };

    /// <summary>
    /// Writes transformation <paramref name="t"/> (index into <see cref="Names"/>) of a square CHW
    /// image with <paramref name="channels"/> planes of <paramref name="size"/> x <paramref name="size"/>.
    /// </summary>
    public static void Apply(ReadOnlySpan<byte> src, Span<byte> dst, int channels, int size, int t)
    {
        if ((uint)t >= 8) throw new ArgumentOutOfRangeException(nameof(t), "transformation index must be 0..7");
        int plane = size * size;
        if (src.Length < channels * plane || dst.Length < channels * plane)
            throw new ArgumentException($"expected {channels}x{size}x{size} bytes");
        bool mirror = t >= 4;
        int n = size - 1;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<byte> s = src.Slice(c * plane, plane);
            Span<byte> d = dst.Slice(c * plane, plane);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    // Source position in the rotated frame (counter-clockwise as displayed) ...
                    (int sy, int sx) = (t & 3) switch
                    {
                        0 => (y, x),
                        1 => (x, n - y),
                        2 => (n - y, n - x),
                        _ => (n - x, y),
                    };
                    // ... then undo the mirror that was applied first.
                    if (mirror) sx = n - sx;
                    d[y * size + x] = s[sy * size + sx];
                }
        }
    }
}
