namespace GcnNative.Data;

/// <summary>An RGB colour with components in [0,1].</summary>
internal readonly record struct Rgb(double R, double G, double B)
{
    public static Rgb Mix(Rgb a, Rgb b, double t) => new(a.R + (b.R - a.R) * t, a.G + (b.G - a.G) * t, a.B + (b.B - a.B) * t);
    public Rgb Scale(double k) => new(R * k, G * k, B * k);
}

/// <summary>
/// A float RGB canvas drawn with signed-distance shapes. Coordinates are normalised: x and y run
/// from -1 (left, top) to 1 (right, bottom) whatever the pixel size, so a face looks the same at
/// 64 and 158 pixels. Each shape is a signed distance function (negative inside); a pixel's
/// coverage is <c>clamp(0.5 - d / pixel, 0, 1)</c> with d evaluated at the pixel centre, the
/// usual one-pixel linear ramp, which anti-aliases edges without supersampling.
/// </summary>
internal sealed class FaceRaster
{
    public delegate double Sdf(double x, double y);

    private readonly float[] _r, _g, _b;

    /// <param name="size">Side in pixels.</param>
    /// <param name="background">Initial colour.</param>
    /// <param name="view">Half the visible extent: the canvas shows x in [-view, view] and y in [cy - view, cy + view].</param>
    /// <param name="cy">Vertical centre of the view.</param>
    public FaceRaster(int size, Rgb background, double view = 1, double cy = 0)
    {
        Size = size;
        View = view;
        CenterY = cy;
        Pixel = 2.0 * view / size;
        _r = new float[size * size];
        _g = new float[size * size];
        _b = new float[size * size];
        Array.Fill(_r, (float)background.R);
        Array.Fill(_g, (float)background.G);
        Array.Fill(_b, (float)background.B);
    }

    public int Size { get; }
    public double View { get; }
    public double CenterY { get; }
    /// <summary>One pixel in normalised units.</summary>
    public double Pixel { get; }

    /// <summary>Light from the upper left (as displayed): brightness factor at (x, y) for shading strength <paramref name="amount"/>.</summary>
    public static double Light(double x, double y, double amount) => 1 + amount * (-0.75 * x - 0.35 * y);

    /// <summary>
    /// Blends <paramref name="color"/> into every pixel whose centre lies in the box
    /// [x0,x1]x[y0,y1] (plus one pixel), weighted by the shape's coverage times <paramref name="opacity"/>;
    /// <paramref name="shade"/> > 0 applies <see cref="Light"/>.
    /// </summary>
    public void Fill(Sdf sdf, Rgb color, double x0, double y0, double x1, double y1, double opacity = 1, double shade = 0)
    {
        double left = -View, topY = CenterY - View;
        int px0 = Math.Max(0, (int)Math.Floor((x0 - left) / Pixel) - 1), px1 = Math.Min(Size - 1, (int)Math.Ceiling((x1 - left) / Pixel) + 1);
        int py0 = Math.Max(0, (int)Math.Floor((y0 - topY) / Pixel) - 1), py1 = Math.Min(Size - 1, (int)Math.Ceiling((y1 - topY) / Pixel) + 1);
        for (int py = py0; py <= py1; py++)
        {
            double y = topY + (py + 0.5) * Pixel;
            for (int px = px0; px <= px1; px++)
            {
                double x = left + (px + 0.5) * Pixel;
                double d = sdf(x, y);
                double a = Math.Clamp(0.5 - d / Pixel, 0, 1) * opacity;
                if (a <= 0) continue;
                double k = shade > 0 ? Light(x, y, shade) : 1;
                int i = py * Size + px;
                _r[i] += (float)((Math.Clamp(color.R * k, 0, 1) - _r[i]) * a);
                _g[i] += (float)((Math.Clamp(color.G * k, 0, 1) - _g[i]) * a);
                _b[i] += (float)((Math.Clamp(color.B * k, 0, 1) - _b[i]) * a);
            }
        }
    }

    /// <summary>Fills the whole canvas area a shape may touch (no bounding box known).</summary>
    public void Fill(Sdf sdf, Rgb color, double opacity = 1, double shade = 0) =>
        Fill(sdf, color, -View, CenterY - View, View, CenterY + View, opacity, shade);

    /// <summary>Writes the canvas as CHW bytes.</summary>
    public void CopyTo(Span<byte> chw)
    {
        int plane = Size * Size;
        for (int i = 0; i < plane; i++)
        {
            chw[i] = ToByte(_r[i]);
            chw[plane + i] = ToByte(_g[i]);
            chw[2 * plane + i] = ToByte(_b[i]);
        }
    }

    private static byte ToByte(float v) => (byte)Math.Round(Math.Clamp(v, 0f, 1f) * 255f);

    // ---- signed distance helpers (standard formulas) ----

    /// <summary>Approximate distance to an axis-aligned ellipse (exact on the axes, good near the edge).</summary>
    public static double Ellipse(double x, double y, double cx, double cy, double a, double b)
    {
        double px = (x - cx) / a, py = (y - cy) / b;
        double k0 = Math.Sqrt(px * px + py * py);
        double qx = px / a, qy = py / b;
        double k1 = Math.Sqrt(qx * qx + qy * qy);
        if (k1 < 1e-12) return -Math.Min(a, b);
        return k0 * (k0 - 1) / k1;
    }

    public static double Circle(double x, double y, double cx, double cy, double r) =>
        Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) - r;

    /// <summary>Distance from (x,y) to segment a-b and the position t in [0,1] of the closest point.</summary>
    public static double Segment(double x, double y, double ax, double ay, double bx, double by, out double t)
    {
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        t = len2 > 0 ? Math.Clamp(((x - ax) * dx + (y - ay) * dy) / len2, 0, 1) : 0;
        double ex = x - (ax + t * dx), ey = y - (ay + t * dy);
        return Math.Sqrt(ex * ex + ey * ey);
    }

    /// <summary>
    /// A stroke along a polyline whose thickness goes linearly from <paramref name="th0"/> at the
    /// first point to <paramref name="th1"/> at the last (round caps).
    /// </summary>
    public static Sdf Stroke((double X, double Y)[] pts, double th0, double th1)
    {
        int n = pts.Length - 1;
        return (x, y) =>
        {
            double best = double.MaxValue;
            for (int i = 0; i < n; i++)
            {
                double d = Segment(x, y, pts[i].X, pts[i].Y, pts[i + 1].X, pts[i + 1].Y, out double t);
                double u = (i + t) / n;
                best = Math.Min(best, d - 0.5 * (th0 + (th1 - th0) * u));
            }
            return best;
        };
    }

    /// <summary>Samples a curve y = f(x) for x in [x0, x1] as <paramref name="n"/>+1 points.</summary>
    public static (double X, double Y)[] Curve(Func<double, double> f, double x0, double x1, int n = 12)
    {
        var pts = new (double, double)[n + 1];
        for (int i = 0; i <= n; i++)
        {
            double x = x0 + (x1 - x0) * i / n;
            pts[i] = (x, f(x));
        }
        return pts;
    }

    /// <summary>
    /// The region between two curves over [x0, x1] (top(x) &lt; y &lt; bottom(x)), distances divided by
    /// the curve's slope so the anti-aliased edge stays one pixel wide.
    /// </summary>
    public static Sdf Between(Func<double, double> top, Func<double, double> bottom, double x0, double x1)
    {
        const double h = 1e-3;
        return (x, y) =>
        {
            double xc = Math.Clamp(x, x0, x1);
            double t = top(xc), b = bottom(xc);
            double st = (top(xc + h) - top(xc - h)) / (2 * h), sb = (bottom(xc + h) - bottom(xc - h)) / (2 * h);
            double dTop = (t - y) / Math.Sqrt(1 + st * st);
            double dBottom = (y - b) / Math.Sqrt(1 + sb * sb);
            double dSide = Math.Max(x0 - x, x - x1);
            return Math.Max(Math.Max(dTop, dBottom), dSide);
        };
    }

    public static double SmoothStep(double e0, double e1, double x)
    {
        double t = Math.Clamp((x - e0) / (e1 - e0), 0, 1);
        return t * t * (3 - 2 * t);
    }
}
