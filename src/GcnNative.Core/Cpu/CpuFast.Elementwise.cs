using System.Numerics;
using System.Runtime.InteropServices;

namespace GcnNative.Cpu;

// Elementwise, bias, pooling, LRN and Adam. Each operation is a span kernel over a range
// (elements, rows, planes or images); large calls split the range over the workers in
// chunks big enough (>= 32 K elements) that waking a worker pays for itself.
public sealed unsafe partial class CpuFast
{
    private const int MinElementsPerPart = 32 * 1024;

    private enum RangeOp { LeakyForward, LeakyBackward, Axpy, DropoutBackward, Adam, AddBias, BiasGradient,
        PoolForward, PoolBackward, LrnForward, LrnBackward }

    private ParallelBody _rangeBody = null!;
    private RangeOp _rOp;
    private int _rUnits, _rChunk;
    private float[] _r0 = [], _r1 = [], _r2 = [], _r3 = [], _r4 = [];
    private float _rScalar;
    private int _rChannels, _rInner, _rPlane;
    private AdamStep _rAdam;
    private PoolGeometry _rPool;
    private LrnParams _rLrn;

    private void InitElementwiseBodies() => _rangeBody = RangeItem;

    /// <summary>Runs the prepared op over units [0, units), unitSize elements each, split when large.</summary>
    private void RunRange(RangeOp op, int units, long unitSize)
    {
        _rOp = op;
        _rUnits = units;
        long total = units * Math.Max(1, unitSize);
        int parts = (int)Math.Clamp(total / MinElementsPerPart, 1, Math.Min(Threads, Math.Max(1, units)));
        _rChunk = (units + parts - 1) / parts;
        if (parts == 1) RangeItem(0, 0);
        else _pool.Run((units + _rChunk - 1) / _rChunk, _rangeBody);
    }

    private void RangeItem(int item, int worker)
    {
        int start = item * _rChunk, end = Math.Min(_rUnits, start + _rChunk), len = end - start;
        switch (_rOp)
        {
            case RangeOp.LeakyForward: LeakyForwardSpan(_r0.AsSpan(start, len), _r1.AsSpan(start, len), _rScalar); break;
            case RangeOp.LeakyBackward:
                LeakyBackwardSpan(_r0.AsSpan(start, len), _r1.AsSpan(start, len), _r2.AsSpan(start, len), _rScalar);
                break;
            case RangeOp.Axpy: AxpySpan(_rScalar, _r0.AsSpan(start, len), _r1.AsSpan(start, len)); break;
            case RangeOp.DropoutBackward:
                MultiplySpan(_r0.AsSpan(start, len), _r1.AsSpan(start, len), _r2.AsSpan(start, len));
                break;
            case RangeOp.Adam:
                AdamSpan(_r0.AsSpan(start, len), _r1.AsSpan(start, len), _r2.AsSpan(start, len),
                    _r3.AsSpan(start, len), _rAdam);
                break;
            case RangeOp.AddBias: AddBiasRows(start, end); break;
            case RangeOp.BiasGradient: BiasGradientChannels(start, end); break;
            case RangeOp.PoolForward: PoolForwardPlanes(_rPool, start, end, _r0, _r1); break;
            case RangeOp.PoolBackward: PoolBackwardPlanes(_rPool, start, end, _r0, _r1, _r2, _r3); break;
            case RangeOp.LrnForward: LrnForwardImages(start, end); break;
            case RangeOp.LrnBackward: LrnBackwardImages(start, end); break;
        }
    }

    // ---- leaky ReLU, axpy, dropout -------------------------------------------------

    public void LeakyReluForward(float[] x, float[] y, float slope)
    {
        (_r0, _r1, _rScalar) = (x, y, slope);
        RunRange(RangeOp.LeakyForward, x.Length, 1);
    }

    public void LeakyReluBackward(float[] x, float[] dy, float[] dx, float slope)
    {
        (_r0, _r1, _r2, _rScalar) = (x, dy, dx, slope);
        RunRange(RangeOp.LeakyBackward, x.Length, 1);
    }

    /// <summary>y += alpha * x.</summary>
    public void Axpy(float alpha, float[] x, float[] y)
    {
        (_r0, _r1, _rScalar) = (x, y, alpha);
        RunRange(RangeOp.Axpy, y.Length, 1);
    }

    /// <summary>dx = dy * mask.</summary>
    public void DropoutBackward(float[] dy, float[] mask, float[] dx)
    {
        (_r0, _r1, _r2) = (dy, mask, dx);
        RunRange(RangeOp.DropoutBackward, dx.Length, 1);
    }

    private static void LeakyForwardSpan(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var s = new Vector<float>(slope);
        for (int i = 0; i < vx.Length; i++)
            vy[i] = Vector.ConditionalSelect(Vector.GreaterThan(vx[i], Vector<float>.Zero), vx[i], vx[i] * s);
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
    }

    private static void LeakyBackwardSpan(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, float slope)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vd = MemoryMarshal.Cast<float, Vector<float>>(dy);
        var vo = MemoryMarshal.Cast<float, Vector<float>>(dx);
        var s = new Vector<float>(slope);
        for (int i = 0; i < vx.Length; i++)
            vo[i] = Vector.ConditionalSelect(Vector.GreaterThan(vx[i], Vector<float>.Zero), vd[i], vd[i] * s);
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++) dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
    }

    private static void AxpySpan(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var a = new Vector<float>(alpha);
        for (int i = 0; i < vy.Length; i++) vy[i] += a * vx[i];
        for (int i = vy.Length * Vector<float>.Count; i < y.Length; i++) y[i] += alpha * x[i];
    }

    private static void MultiplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var vd = MemoryMarshal.Cast<float, Vector<float>>(dst);
        for (int i = 0; i < vd.Length; i++) vd[i] = va[i] * vb[i];
        for (int i = vd.Length * Vector<float>.Count; i < dst.Length; i++) dst[i] = a[i] * b[i];
    }

    /// <summary>dst += src.</summary>
    private static void AddInto(ReadOnlySpan<float> src, Span<float> dst)
    {
        var vs = MemoryMarshal.Cast<float, Vector<float>>(src);
        var vd = MemoryMarshal.Cast<float, Vector<float>>(dst);
        for (int i = 0; i < vd.Length; i++) vd[i] += vs[i];
        for (int i = vd.Length * Vector<float>.Count; i < dst.Length; i++) dst[i] += src[i];
    }

    /// <summary>Sum of a span in float with vector partial sums.</summary>
    private static float Sum(ReadOnlySpan<float> x)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var acc = Vector<float>.Zero;
        for (int i = 0; i < vx.Length; i++) acc += vx[i];
        float s = Vector.Sum(acc);
        for (int i = vx.Length * Vector<float>.Count; i < x.Length; i++) s += x[i];
        return s;
    }

    // ---- bias ------------------------------------------------------------------

    /// <summary>y[o, c, i] += bias[c].</summary>
    public void AddBias(float[] y, float[] bias, int outer, int channels, int inner)
    {
        (_r0, _r1, _rChannels, _rInner) = (y, bias, channels, inner);
        RunRange(RangeOp.AddBias, outer * channels, inner);
    }

    private void AddBiasRows(int start, int end)
    {
        for (int row = start; row < end; row++)
        {
            var y = _r0.AsSpan(row * _rInner, _rInner);
            float b = _r1[row % _rChannels];
            if (_rInner == 1) { y[0] += b; continue; }
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            var vb = new Vector<float>(b);
            for (int i = 0; i < vy.Length; i++) vy[i] += vb;
            for (int i = vy.Length * Vector<float>.Count; i < y.Length; i++) y[i] += b;
        }
    }

    /// <summary>dBias[c] (+)= sum over o, i of dy[o, c, i]; row sums in float, the total in double.</summary>
    public void BiasGradient(float[] dy, float[] dBias, int outer, int channels, int inner, bool accumulate)
    {
        (_r0, _r1, _rChannels, _rInner, _rPlane) = (dy, dBias, channels, inner, outer);
        _rScalar = accumulate ? 1 : 0;
        RunRange(RangeOp.BiasGradient, channels, (long)outer * inner);
    }

    private void BiasGradientChannels(int start, int end)
    {
        int outer = _rPlane, channels = _rChannels, inner = _rInner;
        for (int c = start; c < end; c++)
        {
            double sum = 0;
            if (inner == 1)
                for (int o = 0; o < outer; o++) sum += _r0[o * channels + c];
            else
                for (int o = 0; o < outer; o++) sum += Sum(_r0.AsSpan((o * channels + c) * inner, inner));
            _r1[c] = _rScalar != 0 ? _r1[c] + (float)sum : (float)sum;
        }
    }

    // ---- Adam ------------------------------------------------------------------

    public void AdamUpdate(float[] param, float[] grad, float[] m, float[] v, in AdamStep s)
    {
        (_r0, _r1, _r2, _r3, _rAdam) = (param, grad, m, v, s);
        RunRange(RangeOp.Adam, param.Length, 1);
    }

    /// <summary>The formula of <see cref="IBackend.AdamUpdate"/> in float vectors (bias corrections in double).</summary>
    private static void AdamSpan(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, in AdamStep s)
    {
        float rc1 = (float)(1 / (1 - Math.Pow(s.Beta1, s.Step)));
        float rc2 = (float)(1 / (1 - Math.Pow(s.Beta2, s.Step)));
        var vp = MemoryMarshal.Cast<float, Vector<float>>(param);
        var vg = MemoryMarshal.Cast<float, Vector<float>>(grad);
        var vm = MemoryMarshal.Cast<float, Vector<float>>(m);
        var vv = MemoryMarshal.Cast<float, Vector<float>>(v);
        Vector<float> b1 = new(s.Beta1), b2 = new(s.Beta2), ob1 = new(1 - s.Beta1), ob2 = new(1 - s.Beta2);
        Vector<float> wd = new(s.WeightDecay), lr = new(s.LearningRate), eps = new(s.Epsilon);
        Vector<float> c1 = new(rc1), c2 = new(rc2);
        for (int i = 0; i < vp.Length; i++)
        {
            var g = vg[i] + wd * vp[i];
            var mi = b1 * vm[i] + ob1 * g;
            var vi = b2 * vv[i] + ob2 * g * g;
            vm[i] = mi;
            vv[i] = vi;
            vp[i] -= lr * (mi * c1) / (Vector.SquareRoot(vi * c2) + eps);
        }
        for (int i = vp.Length * Vector<float>.Count; i < param.Length; i++)
        {
            float g = grad[i] + s.WeightDecay * param[i];
            m[i] = s.Beta1 * m[i] + (1 - s.Beta1) * g;
            v[i] = s.Beta2 * v[i] + (1 - s.Beta2) * g * g;
            param[i] -= s.LearningRate * (m[i] * rc1) / (MathF.Sqrt(v[i] * rc2) + s.Epsilon);
        }
    }

    // ---- max pooling -----------------------------------------------------------

    public void MaxPoolForward(in PoolGeometry g, float[] x, float[] y)
    {
        (_rPool, _r0, _r1) = (g, x, y);
        RunRange(RangeOp.PoolForward, g.Batch * g.Channels, (long)g.InHeight * g.InWidth);
    }

    public void MaxPoolBackward(in PoolGeometry g, float[] x, float[] y, float[] dy, float[] dx)
    {
        (_rPool, _r0, _r1, _r2, _r3) = (g, x, y, dy, dx);
        RunRange(RangeOp.PoolBackward, g.Batch * g.Channels, (long)g.InHeight * g.InWidth);
    }

    /// <summary>Floats a pooling worker keeps on its stack (16 KiB); larger windows or rows use the heap.</summary>
    private const int StackFloats = 4096;

    /// <summary>
    /// Separable max: for each output row, the maximum over the kernel's input rows is taken
    /// column by column in vectors, then over each window's columns. Every comparison is
    /// "take v if v > best" from -inf, as in the reference, so NaNs are skipped the same way
    /// and the maximum does not depend on the order.
    /// </summary>
    private static void PoolForwardPlanes(in PoolGeometry g, int start, int end, float[] x, float[] y)
    {
        int inW = g.InWidth, k = g.Kernel, s = g.Stride, outW = g.OutWidth;
        int usedW = (outW - 1) * s + k;   // columns any window touches
        int vc = Vector<float>.Count;
        int padded = (usedW + vc - 1) / vc * vc + k + vc;
        Span<float> colBuffer = padded <= StackFloats ? stackalloc float[padded] : new float[padded];
        Span<float> windowBuffer = padded <= StackFloats ? stackalloc float[padded] : new float[padded];
        colBuffer.Fill(float.NegativeInfinity);
        var negInf = new Vector<float>(float.NegativeInfinity);
        fixed (float* px = x, py = y, colMax = colBuffer, windowMax = windowBuffer)
        {
            for (int p = start; p < end; p++)
            for (int oh = 0; oh < g.OutHeight; oh++)
            {
                float* rows = px + ((long)p * g.InHeight + oh * s) * inW;
                int w = 0;
                for (; w + vc <= usedW; w += vc)
                {
                    var best = negInf;
                    for (int kh = 0; kh < k; kh++)
                    {
                        var v = Vector.Load(rows + kh * inW + w);
                        best = Vector.ConditionalSelect(Vector.GreaterThan(v, best), v, best);
                    }
                    best.Store(colMax + w);
                }
                for (; w < usedW; w++)
                {
                    float best = float.NegativeInfinity;
                    for (int kh = 0; kh < k; kh++)
                    {
                        float v = rows[kh * inW + w];
                        if (v > best) best = v;
                    }
                    colMax[w] = best;
                }
                // windows starting at every column w (vectors of shifted loads, no branches), then
                // every s-th of them; colMax is padded so the shifted loads stay inside it
                float* yr = py + ((long)p * g.OutHeight + oh) * outW;
                int starts = (outW - 1) * s + 1;
                for (w = 0; w < starts; w += vc)
                {
                    var best = Vector.Load(colMax + w);
                    for (int kw = 1; kw < k; kw++)
                    {
                        var v = Vector.Load(colMax + w + kw);
                        best = Vector.ConditionalSelect(Vector.GreaterThan(v, best), v, best);
                    }
                    best.Store(windowMax + w);
                }
                for (int ow = 0; ow < outW; ow++) yr[ow] = windowMax[ow * s];
            }
        }
    }

    /// <summary>
    /// Each plane is owned by one worker, so routing to the first maximum needs no atomics.
    /// Per output row, the first window element equal to the window's maximum is found in
    /// vectors over every window start (as the forward pass), scanning the window backwards so
    /// the earliest match wins; then every s-th start routes its gradient. The window's rows
    /// are copied into buffers padded with NaN (which equals nothing), so the vector loads stay
    /// inside them. A window that matches nothing (a NaN window) routes to its first element,
    /// as the reference.
    /// </summary>
    private static void PoolBackwardPlanes(in PoolGeometry g, int start, int end, float[] x, float[] y, float[] dy,
        float[] dx)
    {
        int inW = g.InWidth, k = g.Kernel, s = g.Stride, outW = g.OutWidth;
        long inPlane = (long)g.InHeight * inW, outPlane = (long)g.OutHeight * outW;
        int vc = Vector<float>.Count;
        int starts = (outW - 1) * s + 1, usedW = starts + k - 1;
        int padded = (starts + vc - 1) / vc * vc + k + vc;
        // on the stack for any usual window and width; a huge one goes to the heap
        Span<float> rowBuffer = k * padded <= StackFloats ? stackalloc float[k * padded] : new float[k * padded];
        Span<float> targetBuffer = padded <= StackFloats ? stackalloc float[padded] : new float[padded];
        Span<int> firstBuffer = padded <= StackFloats ? stackalloc int[padded] : new int[padded];
        rowBuffer.Fill(float.NaN);
        targetBuffer.Fill(float.NaN);
        dx.AsSpan((int)(start * inPlane), (int)((end - start) * inPlane)).Clear();
        fixed (float* px = x, py = y, pdy = dy, pdx = dx, rows = rowBuffer, target = targetBuffer)
        fixed (int* first = firstBuffer)
        {
            for (int p = start; p < end; p++)
            {
                float* xp = px + p * inPlane, dxp = pdx + p * inPlane;
                float* yp = py + p * outPlane, dyp = pdy + p * outPlane;
                for (int oh = 0; oh < g.OutHeight; oh++)
                {
                    float* top = xp + (long)oh * s * inW;
                    for (int kh = 0; kh < k; kh++)
                        new ReadOnlySpan<float>(top + kh * inW, usedW).CopyTo(new Span<float>(rows + kh * padded, usedW));
                    for (int ow = 0; ow < outW; ow++) target[ow * s] = yp[(long)oh * outW + ow];
                    for (int w = 0; w < starts; w += vc)
                    {
                        var t = Vector.Load(target + w);
                        var found = new Vector<int>(-1);
                        for (int kh = k - 1; kh >= 0; kh--)
                            for (int kw = k - 1; kw >= 0; kw--)
                            {
                                var hit = Vector.Equals(Vector.Load(rows + kh * padded + w + kw), t);
                                found = Vector.ConditionalSelect(hit, new Vector<int>(kh * inW + kw), found);
                            }
                        found.Store(first + w);
                    }
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int at = first[ow * s];
                        dxp[(long)oh * s * inW + ow * s + (at < 0 ? 0 : at)] += dyp[(long)oh * outW + ow];
                    }
                }
            }
        }
    }

    // ---- local response normalisation -------------------------------------------

    public void LrnForward(in LrnParams p, int batch, int channels, int plane, float[] x, float[] y, float[] scale)
    {
        (_rLrn, _rChannels, _rPlane, _r0, _r1, _r2) = (p, channels, plane, x, y, scale);
        RunRange(RangeOp.LrnForward, batch, (long)channels * plane * 4);
    }

    public void LrnBackward(in LrnParams p, int batch, int channels, int plane, float[] x, float[] y, float[] scale,
        float[] dy, float[] dx)
    {
        (_rLrn, _rChannels, _rPlane, _r0, _r1, _r2, _r3, _r4) = (p, channels, plane, x, y, scale, dy, dx);
        RunRange(RangeOp.LrnBackward, batch, (long)channels * plane * 4);
    }

    /// <summary>s^-beta, vectorised exactly for the usual beta = 0.75 as 1 / (sqrt(s) sqrt(sqrt(s))).</summary>
    private static Vector<float> PowMinusBeta(Vector<float> s, float beta)
    {
        if (beta == 0.75f)
        {
            var r = Vector.SquareRoot(s);
            return Vector<float>.One / (r * Vector.SquareRoot(r));
        }
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        s.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++) lanes[i] = MathF.Pow(lanes[i], -beta);
        return new Vector<float>(lanes);
    }

    private static float PowMinusBeta(float s, float beta) =>
        beta == 0.75f ? 1f / (MathF.Sqrt(s) * MathF.Sqrt(MathF.Sqrt(s))) : MathF.Pow(s, -beta);

    /// <summary>scale = k + alpha/size * window sum of x^2; y = x * scale^-beta, for images [start, end).</summary>
    private void LrnForwardImages(int start, int end)
    {
        var lp = _rLrn;
        int channels = _rChannels, plane = _rPlane, w = Vector<float>.Count;
        int before = lp.Size / 2, after = (lp.Size - 1) / 2;
        float a = lp.Alpha / lp.Size;
        for (int n = start; n < end; n++)
        for (int c = 0; c < channels; c++)
        {
            int lo = Math.Max(0, c - before), hi = Math.Min(channels - 1, c + after);
            var x = _r0.AsSpan((n * channels) * plane, channels * plane);
            int at = (n * channels + c) * plane;
            int i = 0;
            for (; i + w <= plane; i += w)
            {
                var sum = Vector<float>.Zero;
                for (int cc = lo; cc <= hi; cc++)
                {
                    var v = new Vector<float>(x.Slice(cc * plane + i, w));
                    sum += v * v;
                }
                var s = new Vector<float>(lp.K) + new Vector<float>(a) * sum;
                s.CopyTo(_r2.AsSpan(at + i, w));
                (new Vector<float>(x.Slice(c * plane + i, w)) * PowMinusBeta(s, lp.Beta)).CopyTo(_r1.AsSpan(at + i, w));
            }
            for (; i < plane; i++)
            {
                float sum = 0;
                for (int cc = lo; cc <= hi; cc++) sum += x[cc * plane + i] * x[cc * plane + i];
                float s = lp.K + a * sum;
                _r2[at + i] = s;
                _r1[at + i] = x[c * plane + i] * PowMinusBeta(s, lp.Beta);
            }
        }
    }

    /// <summary>dx_c = dy_c s_c^-beta - (2 alpha beta / size) x_c sum_{j: c in window(j)} dy_j y_j / s_j.</summary>
    private void LrnBackwardImages(int start, int end)
    {
        var lp = _rLrn;
        int channels = _rChannels, plane = _rPlane, w = Vector<float>.Count;
        int before = lp.Size / 2, after = (lp.Size - 1) / 2;
        float coef = 2f * lp.Alpha * lp.Beta / lp.Size;
        for (int n = start; n < end; n++)
        for (int c = 0; c < channels; c++)
        {
            int lo = Math.Max(0, c - after), hi = Math.Min(channels - 1, c + before);
            int img = n * channels * plane, at = img + c * plane;
            int i = 0;
            for (; i + w <= plane; i += w)
            {
                var sum = Vector<float>.Zero;
                for (int j = lo; j <= hi; j++)
                {
                    int aj = img + j * plane + i;
                    sum += new Vector<float>(_r3, aj) * new Vector<float>(_r1, aj) / new Vector<float>(_r2, aj);
                }
                var d = new Vector<float>(_r3, at + i) * PowMinusBeta(new Vector<float>(_r2, at + i), lp.Beta)
                        - new Vector<float>(coef) * new Vector<float>(_r0, at + i) * sum;
                d.CopyTo(_r4, at + i);
            }
            for (; i < plane; i++)
            {
                float sum = 0;
                for (int j = lo; j <= hi; j++)
                {
                    int aj = img + j * plane + i;
                    sum += _r3[aj] * _r1[aj] / _r2[aj];
                }
                _r4[at + i] = _r3[at + i] * PowMinusBeta(_r2[at + i], lp.Beta) - coef * _r0[at + i] * sum;
            }
        }
    }
}
