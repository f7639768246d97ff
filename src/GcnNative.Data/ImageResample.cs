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
    /// Separable tent filter whose radius is max(1, source pixels per output pixel): bilinear
    /// interpolation when enlarging, an area-weighted average over each output pixel's footprint
    /// (no aliasing) when shrinking.
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

    private static (int[][] Index, double[][] Weight) Weights(double start, double length, int outN, int srcN)
    {
        double scale = length / outN, radius = Math.Max(1, scale);
        var index = new int[outN][];
        var weight = new double[outN][];
        for (int o = 0; o < outN; o++)
        {
            double centre = start + (o + 0.5) * scale - 0.5; // in source pixel-centre coordinates
            int lo = (int)Math.Floor(centre - radius) + 1, hi = (int)Math.Ceiling(centre + radius) - 1;
            var idx = new List<int>();
            var wt = new List<double>();
            double total = 0;
            for (int i = lo; i <= hi; i++)
            {
                double wgt = 1 - Math.Abs(i - centre) / radius;
                if (wgt <= 0) continue;
                idx.Add(Math.Clamp(i, 0, srcN - 1));
                wt.Add(wgt);
                total += wgt;
            }
            if (idx.Count == 0) { idx.Add(Math.Clamp((int)Math.Round(centre), 0, srcN - 1)); wt.Add(1); total = 1; }
            index[o] = idx.ToArray();
            weight[o] = wt.Select(v => v / total).ToArray();
        }
        return (index, weight);
    }
}
