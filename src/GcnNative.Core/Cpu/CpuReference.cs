namespace GcnNative.Cpu;

/// <summary>
/// The oracle: every CPU operation written as plainly as possible, one loop nest per
/// formula, no blocking, no threads, double accumulators where sums are long. The fast
/// path and the CUDA backend are tested against these functions.
/// </summary>
public static class CpuReference
{
    // ---- dense algebra ------------------------------------------------------------

    public static void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, float beta, Span<float> c)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * m + i] : a[i * k + p];
                    float bv = transB ? b[j * k + p] : b[p * n + j];
                    sum += (double)av * bv;
                }
                float prev = beta == 0 ? 0 : beta * c[i * n + j];
                c[i * n + j] = (float)(alpha * sum) + prev;
            }
        }
    }

    public static void AddBias(Span<float> y, ReadOnlySpan<float> bias, int outer, int channels, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < inner; i++)
                    y[(o * channels + c) * inner + i] += bias[c];
    }

    public static void BiasGradient(ReadOnlySpan<float> dy, Span<float> dBias, int outer, int channels, int inner,
        bool accumulate)
    {
        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    sum += dy[(o * channels + c) * inner + i];
            dBias[c] = accumulate ? dBias[c] + (float)sum : (float)sum;
        }
    }

    // ---- convolution --------------------------------------------------------------

    public static void ConvForward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y)
    {
        for (int n = 0; n < g.Batch; n++)
        for (int co = 0; co < g.OutChannels; co++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        for (int ow = 0; ow < g.OutWidth; ow++)
        {
            double sum = 0;
            for (int ci = 0; ci < g.InChannels; ci++)
            for (int kh = 0; kh < g.KernelH; kh++)
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                int iw = ow * g.StrideW - g.PadW + kw;
                if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                sum += (double)x[((n * g.InChannels + ci) * g.InHeight + ih) * g.InWidth + iw]
                       * w[((co * g.InChannels + ci) * g.KernelH + kh) * g.KernelW + kw];
            }
            y[((n * g.OutChannels + co) * g.OutHeight + oh) * g.OutWidth + ow] = (float)sum;
        }
    }

    /// <summary>dx[n,ci,ih,iw] = sum over (co, kh, kw) hitting it of dy * w. Overwrites dx.</summary>
    public static void ConvBackwardData(in ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        var acc = new double[dx.Length];
        for (int n = 0; n < g.Batch; n++)
        for (int co = 0; co < g.OutChannels; co++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        for (int ow = 0; ow < g.OutWidth; ow++)
        {
            double d = dy[((n * g.OutChannels + co) * g.OutHeight + oh) * g.OutWidth + ow];
            for (int ci = 0; ci < g.InChannels; ci++)
            for (int kh = 0; kh < g.KernelH; kh++)
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                int iw = ow * g.StrideW - g.PadW + kw;
                if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                acc[((n * g.InChannels + ci) * g.InHeight + ih) * g.InWidth + iw] +=
                    d * w[((co * g.InChannels + ci) * g.KernelH + kh) * g.KernelW + kw];
            }
        }
        for (int i = 0; i < dx.Length; i++) dx[i] = (float)acc[i];
    }

    public static void ConvBackwardFilter(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy,
        Span<float> dw, bool accumulate)
    {
        for (int co = 0; co < g.OutChannels; co++)
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelH; kh++)
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            double sum = 0;
            for (int n = 0; n < g.Batch; n++)
            for (int oh = 0; oh < g.OutHeight; oh++)
            for (int ow = 0; ow < g.OutWidth; ow++)
            {
                int ih = oh * g.StrideH - g.PadH + kh;
                int iw = ow * g.StrideW - g.PadW + kw;
                if (ih < 0 || ih >= g.InHeight || iw < 0 || iw >= g.InWidth) continue;
                sum += (double)x[((n * g.InChannels + ci) * g.InHeight + ih) * g.InWidth + iw]
                       * dy[((n * g.OutChannels + co) * g.OutHeight + oh) * g.OutWidth + ow];
            }
            int wi = ((co * g.InChannels + ci) * g.KernelH + kh) * g.KernelW + kw;
            dw[wi] = accumulate ? dw[wi] + (float)sum : (float)sum;
        }
    }

    // ---- elementwise and pooling --------------------------------------------------

    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
    }

    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, float slope)
    {
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
    }

    public static void MaxPoolForward(in PoolGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < g.Batch * g.Channels; p++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        for (int ow = 0; ow < g.OutWidth; ow++)
        {
            float best = float.NegativeInfinity;
            for (int kh = 0; kh < g.Kernel; kh++)
            for (int kw = 0; kw < g.Kernel; kw++)
            {
                float v = x[(p * g.InHeight + oh * g.Stride + kh) * g.InWidth + ow * g.Stride + kw];
                if (v > best) best = v;
            }
            y[(p * g.OutHeight + oh) * g.OutWidth + ow] = best;
        }
    }

    /// <summary>Routes each output gradient to the first (row-major) maximum of its window.</summary>
    public static void MaxPoolBackward(in PoolGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> dy, Span<float> dx)
    {
        dx.Clear();
        for (int p = 0; p < g.Batch * g.Channels; p++)
        for (int oh = 0; oh < g.OutHeight; oh++)
        for (int ow = 0; ow < g.OutWidth; ow++)
        {
            int o = (p * g.OutHeight + oh) * g.OutWidth + ow;
            int arg = -1;
            for (int kh = 0; kh < g.Kernel && arg < 0; kh++)
            for (int kw = 0; kw < g.Kernel; kw++)
            {
                int i = (p * g.InHeight + oh * g.Stride + kh) * g.InWidth + ow * g.Stride + kw;
                if (x[i] == y[o]) { arg = i; break; }
            }
            // a NaN window matches nothing: route to its first element so the NaN propagates
            if (arg < 0) arg = (p * g.InHeight + oh * g.Stride) * g.InWidth + ow * g.Stride;
            dx[arg] += dy[o];
        }
    }

    public static void LrnForward(in LrnParams lp, int batch, int channels, int plane,
        ReadOnlySpan<float> x, Span<float> y, Span<float> scale)
    {
        int before = lp.Size / 2, after = (lp.Size - 1) / 2;
        for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++)
        for (int i = 0; i < plane; i++)
        {
            double sum = 0;
            for (int cc = Math.Max(0, c - before); cc <= Math.Min(channels - 1, c + after); cc++)
            {
                double v = x[(n * channels + cc) * plane + i];
                sum += v * v;
            }
            int at = (n * channels + c) * plane + i;
            scale[at] = (float)(lp.K + lp.Alpha / lp.Size * sum);
            y[at] = (float)(x[at] * Math.Pow(scale[at], -lp.Beta));
        }
    }

    /// <summary>
    /// dx_c = dy_c s_c^-beta - (2 alpha beta / size) x_c sum_{j: c in window(j)} dy_j y_j / s_j.
    /// </summary>
    public static void LrnBackward(in LrnParams lp, int batch, int channels, int plane,
        ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> scale, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int before = lp.Size / 2, after = (lp.Size - 1) / 2;
        double coef = 2.0 * lp.Alpha * lp.Beta / lp.Size;
        for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++)
        for (int i = 0; i < plane; i++)
        {
            int at = (n * channels + c) * plane + i;
            double sum = 0;
            // channel j's window covers c when j - before <= c <= j + after
            for (int j = Math.Max(0, c - after); j <= Math.Min(channels - 1, c + before); j++)
            {
                int aj = (n * channels + j) * plane + i;
                sum += (double)dy[aj] * y[aj] / scale[aj];
            }
            dx[at] = (float)(dy[at] * Math.Pow(scale[at], -lp.Beta) - coef * x[at] * sum);
        }
    }

    public static void DropoutForward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float p, ulong seed)
    {
        float keep = p >= 1 ? 0 : 1f / (1f - p);
        for (int i = 0; i < x.Length; i++)
        {
            mask[i] = CounterRng.Uniform(seed, (uint)i) >= p ? keep : 0f;
            y[i] = x[i] * mask[i];
        }
    }

    // ---- loss and optimiser -------------------------------------------------------

    public static void WeightedLoss(ReadOnlySpan<float> logits, int totalClasses, ReadOnlySpan<float> labels,
        int labelColumns, ReadOnlySpan<LossHead> heads, float classScale, Span<float> dLogits,
        ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, float pixelScale, Span<float> dPrediction,
        Span<float> lossTerms, int batch)
    {
        int m = heads.Length;
        double total = 0;
        for (int f = 0; f < m; f++)
        {
            var h = heads[f];
            double ce = 0;
            int correct = 0;
            for (int n = 0; n < batch; n++)
            {
                int row = n * totalClasses + h.Offset;
                int label = (int)labels[n * labelColumns + h.LabelColumn];
                if (label < 0 || label >= h.Classes)
                    throw new ArgumentException($"label {label} of sample {n} is outside 0..{h.Classes - 1} for loss head {h.LabelColumn}");
                double max = double.NegativeInfinity;
                int arg = 0;
                for (int k = 0; k < h.Classes; k++)
                    if (logits[row + k] > max) { max = logits[row + k]; arg = k; }
                double denom = 0;
                for (int k = 0; k < h.Classes; k++) denom += Math.Exp(logits[row + k] - max);
                ce += Math.Log(denom) - (logits[row + label] - max);
                if (arg == label) correct++;
                if (!dLogits.IsEmpty)
                {
                    double g = classScale * h.Weight / batch;
                    for (int k = 0; k < h.Classes; k++)
                    {
                        double p = Math.Exp(logits[row + k] - max) / denom;
                        dLogits[row + k] = (float)(g * (p - (k == label ? 1 : 0)));
                    }
                }
            }
            ce /= batch;
            lossTerms[f] = (float)ce;
            lossTerms[m + 2 + f] = correct;
            total += classScale * h.Weight * ce;
        }
        double e = 0;
        if (!prediction.IsEmpty)
        {
            for (int i = 0; i < prediction.Length; i++)
            {
                double d = (double)prediction[i] - target[i];
                e += d * d;
                if (!dPrediction.IsEmpty) dPrediction[i] = (float)(pixelScale * d / batch);
            }
            e /= 2.0 * batch;
        }
        lossTerms[m] = (float)e;
        lossTerms[m + 1] = (float)(total + pixelScale * e);
    }

    public static void AdamUpdate(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        in AdamStep s)
    {
        double c1 = 1 - Math.Pow(s.Beta1, s.Step);
        double c2 = 1 - Math.Pow(s.Beta2, s.Step);
        for (int i = 0; i < param.Length; i++)
        {
            double g = grad[i] + (double)s.WeightDecay * param[i];
            m[i] = (float)(s.Beta1 * m[i] + (1 - s.Beta1) * g);
            v[i] = (float)(s.Beta2 * v[i] + (1 - s.Beta2) * g * g);
            double mHat = m[i] / c1;
            double vHat = v[i] / c2;
            param[i] = (float)(param[i] - s.LearningRate * mHat / (Math.Sqrt(vHat) + s.Epsilon));
        }
    }
}
