using System.Globalization;

namespace GcnNative.Data;

/// <summary>One polyline of a <see cref="LinePlot"/>: y values, and x values (default 0, 1, 2, ...).</summary>
public sealed record PlotSeries(string Name, IReadOnlyList<double> Y, IReadOnlyList<double>? X = null);

/// <summary>
/// Writes simple line charts (loss curves) as PNG without any drawing library: axes, light grid
/// lines at "nice" ticks, numeric tick labels and a legend in a built-in 5x7 font, and one
/// polyline per series in a distinct colour. Non-finite points (and, on a log axis, values &lt;= 0)
/// break the line instead of distorting the scale.
/// </summary>
public static class LinePlot
{
    private static readonly (byte R, byte G, byte B)[] Palette =
    {
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    };

    private const int Left = 64, Right = 16, Top = 24, Bottom = 28;

    /// <summary>Draws <paramref name="series"/> and saves the chart as a PNG (written atomically).</summary>
    /// <param name="path">Output file.</param>
    /// <param name="series">The lines; colours are assigned in order.</param>
    /// <param name="title">Optional title above the plot.</param>
    /// <param name="width">Image width in pixels (at least 160).</param>
    /// <param name="height">Image height in pixels (at least 120).</param>
    /// <param name="logY">Plot log10 of y (ticks at powers of ten when the range allows).</param>
    public static void SavePng(string path, IReadOnlyList<PlotSeries> series, string? title = null,
        int width = 800, int height = 480, bool logY = false)
    {
        byte[] rgb = Render(series, title, width, height, logY);
        ImageIO.WritePng(path, rgb, 3, width, height);
    }

    /// <summary>Renders the chart into an interleaved RGB buffer (width*height*3 bytes).</summary>
    public static byte[] Render(IReadOnlyList<PlotSeries> series, string? title, int width, int height, bool logY)
    {
        if (width < 160 || height < 120 || (long)width * height > ImageIO.DefaultMaxPixels)
            throw new ArgumentOutOfRangeException(nameof(width), "plot must be at least 160x120 and at most 40 megapixels");
        var canvas = new Canvas(width, height);
        var plot = (X0: Left, Y0: Top, X1: width - Right, Y1: height - Bottom);
        var (xMin, xMax, yMin, yMax) = Ranges(series, logY);

        int Px(double x) => plot.X0 + (int)Math.Round((x - xMin) / (xMax - xMin) * (plot.X1 - plot.X0));
        int Py(double y) => plot.Y1 - (int)Math.Round((y - yMin) / (yMax - yMin) * (plot.Y1 - plot.Y0));

        var yTicks = Ticks(yMin, yMax, logY).ToArray();
        var yLabels = logY ? LogTickLabels(yTicks) : yTicks.Select(FormatTick).ToArray();
        for (int i = 0; i < yTicks.Length; i++)
        {
            double t = yTicks[i];
            int y = Py(t);
            canvas.Line(plot.X0, y, plot.X1, y, (230, 230, 230));
            canvas.Line(plot.X0 - 4, y, plot.X0, y, (0, 0, 0));
            string label = yLabels[i];
            canvas.Text(plot.X0 - 7 - BitmapFont.Measure(label), y - 3, label, (0, 0, 0));
        }
        foreach (double t in Ticks(xMin, xMax, log: false))
        {
            int x = Px(t);
            canvas.Line(x, plot.Y0, x, plot.Y1, (230, 230, 230));
            canvas.Line(x, plot.Y1, x, plot.Y1 + 4, (0, 0, 0));
            string label = FormatTick(t);
            canvas.Text(x - BitmapFont.Measure(label) / 2, plot.Y1 + 8, label, (0, 0, 0));
        }
        canvas.Line(plot.X0, plot.Y0, plot.X0, plot.Y1, (0, 0, 0));
        canvas.Line(plot.X0, plot.Y1, plot.X1, plot.Y1, (0, 0, 0));

        for (int s = 0; s < series.Count; s++)
            DrawSeries(canvas, series[s], Palette[s % Palette.Length], logY, Px, Py);
        DrawLegend(canvas, series, plot.X1);
        if (!string.IsNullOrEmpty(title))
            canvas.Text((width - BitmapFont.Measure(title)) / 2, (Top - BitmapFont.GlyphHeight) / 2, title, (0, 0, 0));
        return canvas.Pixels;
    }

    private static IEnumerable<(double X, double Y)?> Points(PlotSeries s, bool logY)
    {
        for (int i = 0; i < s.Y.Count; i++)
        {
            double x = s.X != null && i < s.X.Count ? s.X[i] : i, y = s.Y[i];
            if (logY) y = y > 0 ? Math.Log10(y) : double.NaN;
            yield return double.IsFinite(x) && double.IsFinite(y) ? (x, y) : null;
        }
    }

    private static (double, double, double, double) Ranges(IReadOnlyList<PlotSeries> series, bool logY)
    {
        var points = series.SelectMany(s => Points(s, logY)).OfType<(double X, double Y)>().ToList();
        if (points.Count == 0) return (0, 1, 0, 1);
        double xMin = points.Min(p => p.X), xMax = points.Max(p => p.X);
        double yMin = points.Min(p => p.Y), yMax = points.Max(p => p.Y);
        if (xMax == xMin) { xMin -= 0.5; xMax += 0.5; }
        if (yMax == yMin) { double d = Math.Max(Math.Abs(yMin) * 0.1, 0.5); yMin -= d; yMax += d; }
        double pad = (yMax - yMin) * 0.05;
        return (xMin, xMax, yMin - pad, yMax + pad);
    }

    /// <summary>Ticks at 1, 2 or 5 times a power of ten, about five per axis; on a log axis whole powers of ten when there are at least two.</summary>
    private static IEnumerable<double> Ticks(double min, double max, bool log)
    {
        if (log && Math.Floor(max) - Math.Ceiling(min) >= 1)
        {
            int stride = (int)Math.Ceiling((Math.Floor(max) - Math.Ceiling(min) + 1) / 6);
            for (double t = Math.Ceiling(min); t <= max; t += stride) yield return t;
            yield break;
        }
        double raw = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        // Count in whole steps (not t += step) so a range tiny next to its magnitude cannot loop forever.
        double first = Math.Ceiling(min / step), last = Math.Floor(max / step + 1e-9);
        for (int k = 0; k <= last - first && k < 50; k++)
            yield return (first + k) * step;
    }

    private static string FormatTick(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>
    /// Labels for log-axis ticks given as exponents, in one style per axis: plain numbers
    /// (0.001 .. 10000) when every tick is a power of ten in that range, otherwise 1E-5 style
    /// for all of them, so an axis never mixes "0.001" with "1E-05".
    /// </summary>
    public static string[] LogTickLabels(IReadOnlyList<double> exponents)
    {
        bool whole = exponents.All(t => t == Math.Round(t));
        if (whole && exponents.All(t => t is >= -3 and <= 4))
            return exponents.Select(t => FormatTick(Math.Pow(10, t))).ToArray();
        if (whole) return exponents.Select(t => $"1E{(int)t}").ToArray();
        return exponents.Select(t => Math.Pow(10, t).ToString("0.###E0", CultureInfo.InvariantCulture)).ToArray();
    }

    private static void DrawSeries(Canvas canvas, PlotSeries series, (byte, byte, byte) color, bool logY,
        Func<double, int> px, Func<double, int> py)
    {
        (int X, int Y)? previous = null;
        foreach (var point in Points(series, logY))
        {
            if (point is not { } p) { previous = null; continue; }
            var current = (px(p.X), py(p.Y));
            if (previous is { } q) canvas.Line(q.X, q.Y, current.Item1, current.Item2, color, thick: true);
            else canvas.Dot(current.Item1, current.Item2, color);
            previous = current;
        }
    }

    private static void DrawLegend(Canvas canvas, IReadOnlyList<PlotSeries> series, int right)
    {
        if (series.Count == 0) return;
        int textWidth = series.Max(s => BitmapFont.Measure(s.Name));
        int boxW = textWidth + 32, boxH = series.Count * 12 + 6, x0 = right - boxW - 6, y0 = Top + 6;
        canvas.Fill(x0, y0, boxW, boxH, (255, 255, 255));
        canvas.Rect(x0, y0, boxW, boxH, (160, 160, 160));
        for (int s = 0; s < series.Count; s++)
        {
            int y = y0 + 6 + s * 12;
            var color = Palette[s % Palette.Length];
            canvas.Line(x0 + 5, y + 3, x0 + 21, y + 3, color, thick: true);
            canvas.Text(x0 + 26, y, series[s].Name, (0, 0, 0));
        }
    }
}
