namespace GcnNative.Data;

/// <summary>Cropping and resizing of <see cref="RgbImage"/>s for the importers.</summary>
public static class ImageResample
{
    /// <summary>
    /// Resamples the rectangle (<paramref name="x"/>, <paramref name="y"/>, <paramref name="w"/>,
    /// <paramref name="h"/>) of <paramref name="src"/> (source pixel units, may be fractional and may
    /// reach outside the image, whose edge pixels are then repeated) to a
    /// <paramref name="outW"/> x <paramref name="outH"/> image, as CHW bytes.
    /// </summary>
    /// <remarks>
    /// Separable: an exact area average over each output pixel's footprint when shrinking (no
    /// aliasing), bilinear interpolation when enlarging.
    /// </remarks>
    public static byte[] Resample(RgbImage src, double x, double y, double w, double h, int outW, int outH)
    {
        if (outW < 1 || outH < 1) throw new ArgumentOutOfRangeException(nameof(outW), "output size must be positive");
        if (!(w > 0) || !(h > 0)) throw new ArgumentOutOfRangeException(nameof(w), "crop size must be positive");
        var (colIdx, colW) = Weights(x, w, outW, src.Width);
        var (rowIdx, rowW) = Weights(y, h, outH, src.Height);
        int srcPlane = src.Width * src.Height, outPlane = outW * outH;
        var tmp = new double[src.Height * outW];
        var result = new byte[3 * outPlane];
        for (int c = 0; c < 3; c++)
        {
            int baseIdx = c * srcPlane;
            // Horizontal pass: every source row to outW columns.
            for (int r = 0; r < src.Height; r++)
                for (int o = 0; o < outW; o++)
                {
                    double sum = 0;
                    int[] idx = colIdx[o];
                    double[] wt = colW[o];
                    for (int k = 0; k < idx.Length; k++) sum += wt[k] * src.Chw[baseIdx + r * src.Width + idx[k]];
                    tmp[r * outW + o] = sum;
                }
            // Vertical pass.
            for (int o = 0; o < outH; o++)
            {
                int[] idx = rowIdx[o];
                double[] wt = rowW[o];
                for (int col = 0; col < outW; col++)
                {
                    double sum = 0;
                    for (int k = 0; k < idx.Length; k++) sum += wt[k] * tmp[idx[k] * outW + col];
                    result[c * outPlane + o * outW + col] = (byte)Math.Round(Math.Clamp(sum, 0, 1) * 255);
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Center-crops <paramref name="src"/> to a square (side = the shorter side) and resizes it to
    /// <paramref name="size"/> x <paramref name="size"/>, as CHW bytes.
    /// </summary>
    public static byte[] CenterSquare(RgbImage src, int size)
    {
        int side = Math.Min(src.Width, src.Height);
        return Resample(src, (src.Width - side) / 2, (src.Height - side) / 2, side, side, size, size);
    }

    /// <summary>
    /// Per output sample: source indices and weights. Shrinking: each source pixel [i, i+1) is
    /// weighted by its overlap with the output pixel's footprint (an exact area average).
    /// Enlarging: bilinear (tent of radius one source pixel around the output pixel's centre).
    /// Indices outside the image are clamped to the edge.
    /// </summary>
    private static (int[][] Index, double[][] Weight) Weights(double start, double length, int outN, int srcN)
    {
        double scale = length / outN;
        var index = new int[outN][];
        var weight = new double[outN][];
        for (int o = 0; o < outN; o++)
        {
            var idx = new List<int>();
            var wt = new List<double>();
            if (scale > 1)
            {
                double a = start + o * scale, b = a + scale;
                for (int i = (int)Math.Floor(a); i < b; i++)
                {
                    double overlap = Math.Min(b, i + 1) - Math.Max(a, i);
                    if (overlap <= 1e-12) continue;
                    idx.Add(Math.Clamp(i, 0, srcN - 1));
                    wt.Add(overlap);
                }
            }
            else
            {
                double centre = start + (o + 0.5) * scale - 0.5; // in source pixel-centre coordinates
                int lo = (int)Math.Floor(centre);
                double f = centre - lo;
                idx.Add(Math.Clamp(lo, 0, srcN - 1)); wt.Add(1 - f);
                idx.Add(Math.Clamp(lo + 1, 0, srcN - 1)); wt.Add(f);
            }
            double total = wt.Sum();
            index[o] = idx.ToArray();
            weight[o] = wt.Select(v => v / total).ToArray();
        }
        return (index, weight);
    }
}
