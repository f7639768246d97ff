namespace GcnNative.Training;

/// <summary>Image quality against ground truth, on CHW images with values in [0, 1].</summary>
public static class ImageMetrics
{
    /// <summary>Cap for identical images, where the PSNR is infinite.</summary>
    public const double MaxPsnr = 100;

    /// <summary>PSNR = 10 log10(1 / MSE), the generated image clipped to [0, 1] first.</summary>
    public static double Psnr(ReadOnlySpan<float> generated, ReadOnlySpan<float> truth)
    {
        double sum = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            double d = Math.Clamp(generated[i], 0f, 1f) - truth[i];
            sum += d * d;
        }
        double mse = sum / truth.Length;
        return mse <= 1e-10 ? MaxPsnr : Math.Min(MaxPsnr, 10 * Math.Log10(1 / mse));
    }

    /// <summary>
    /// SSIM (Wang et al. 2004) with an 11x11 Gaussian window, sigma 1.5, C1 = (0.01)^2,
    /// C2 = (0.03)^2, over the valid window positions of each channel, averaged over
    /// positions and channels. Images smaller than the window use a window of their size.
    /// </summary>
    public static double Ssim(ReadOnlySpan<float> generated, ReadOnlySpan<float> truth, int channels, int height, int width)
    {
        int size = Math.Min(11, Math.Min(height, width));
        var window = Gaussian(size, 1.5);
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        double total = 0;
        int count = 0;
        int plane = height * width;
        for (int c = 0; c < channels; c++)
        {
            var a = generated.Slice(c * plane, plane);
            var b = truth.Slice(c * plane, plane);
            for (int y = 0; y + size <= height; y++)
            for (int x = 0; x + size <= width; x++)
            {
                double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
                for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++)
                {
                    double w = window[i * size + j];
                    double va = Math.Clamp(a[(y + i) * width + x + j], 0f, 1f), vb = b[(y + i) * width + x + j];
                    ma += w * va;
                    mb += w * vb;
                    saa += w * va * va;
                    sbb += w * vb * vb;
                    sab += w * va * vb;
                }
                double varA = saa - ma * ma, varB = sbb - mb * mb, cov = sab - ma * mb;
                total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (varA + varB + c2));
                count++;
            }
        }
        return total / count;
    }

    private static double[] Gaussian(int size, double sigma)
    {
        var w = new double[size * size];
        double sum = 0, centre = (size - 1) / 2.0;
        for (int i = 0; i < size; i++)
        for (int j = 0; j < size; j++)
        {
            double d2 = (i - centre) * (i - centre) + (j - centre) * (j - centre);
            sum += w[i * size + j] = Math.Exp(-d2 / (2 * sigma * sigma));
        }
        for (int i = 0; i < w.Length; i++) w[i] /= sum;
        return w;
    }
}
