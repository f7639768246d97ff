namespace GcnNative.Data;

/// <summary>Hair styles of the procedural faces.</summary>
internal enum HairStyle { Short, Long, Bob, SidePart, Receding, Curly, Bun }

/// <summary>Mouth shapes used by the expressions.</summary>
internal enum MouthKind { Closed, Smile, Round, Wide, Sneer }

/// <summary>The stable look of one procedural person. Lengths are in normalised units (image = 2).</summary>
internal sealed record FaceIdentity(
    double FaceW, double FaceH, double Jaw, Rgb Skin, HairStyle Hair, Rgb HairColor, double HairVolume,
    double EyeSpacing, double EyeW, Rgb Iris, double BrowThick, double BrowArch,
    double NoseLen, double NoseW, double MouthW, double LipThick, double EarSize)
{
    public static readonly Rgb[] SkinTones =
    {
        new(0.98, 0.86, 0.77), new(0.95, 0.79, 0.67), new(0.90, 0.72, 0.58), new(0.82, 0.62, 0.47),
        new(0.69, 0.49, 0.35), new(0.55, 0.38, 0.26), new(0.42, 0.28, 0.19), new(0.94, 0.75, 0.68),
    };

    public static readonly Rgb[] HairColors =
    {
        new(0.09, 0.08, 0.08), new(0.24, 0.15, 0.09), new(0.44, 0.29, 0.17), new(0.52, 0.22, 0.10),
        new(0.86, 0.72, 0.44), new(0.78, 0.40, 0.17), new(0.60, 0.60, 0.60), new(0.92, 0.91, 0.88),
        new(0.16, 0.11, 0.08), new(0.62, 0.45, 0.27),
    };

    public static readonly Rgb[] IrisColors =
    {
        new(0.38, 0.23, 0.11), new(0.20, 0.12, 0.06), new(0.28, 0.50, 0.80), new(0.27, 0.55, 0.33),
        new(0.55, 0.45, 0.20), new(0.50, 0.56, 0.62),
    };

    /// <summary>
    /// Draws the traits of <paramref name="count"/> people from <paramref name="seed"/>. No two
    /// people share the same (hair style, hair colour, skin tone) triple (possible up to 560
    /// people), so every pair differs in at least one clearly visible trait besides the continuous ones.
    /// </summary>
    public static FaceIdentity[] Create(int count, int seed)
    {
        var rng = new FaceRandom(0x5EED_FACE_0000UL ^ (ulong)(uint)seed * 0x100000001B3UL);
        var used = new HashSet<(int, int, int)>();
        var people = new FaceIdentity[count];
        int styles = Enum.GetValues<HairStyle>().Length;
        for (int p = 0; p < count; p++)
        {
            int style, hair, skin;
            int tries = 0;
            do
            {
                style = rng.Next(styles);
                hair = rng.Next(HairColors.Length);
                skin = rng.Next(SkinTones.Length);
            } while (!used.Add((style, hair, skin)) && ++tries < 1000);
            people[p] = new FaceIdentity(
                FaceW: rng.Range(0.50, 0.62),
                FaceH: rng.Range(0.66, 0.76),
                Jaw: rng.Range(0.05, 0.38),
                Skin: SkinTones[skin],
                Hair: (HairStyle)style,
                HairColor: HairColors[hair],
                HairVolume: rng.Range(0.05, 0.12),
                EyeSpacing: rng.Range(0.19, 0.27),
                EyeW: rng.Range(0.085, 0.115),
                Iris: IrisColors[rng.Next(IrisColors.Length)],
                BrowThick: rng.Range(0.028, 0.070),
                BrowArch: rng.Range(0.0, 0.045),
                NoseLen: rng.Range(0.17, 0.27),
                NoseW: rng.Range(0.09, 0.15),
                MouthW: rng.Range(0.16, 0.24),
                LipThick: rng.Range(0.024, 0.044),
                EarSize: rng.Range(0.09, 0.13));
        }
        return people;
    }
}

/// <summary>How an emotion moves brows, eyes and mouth; the same for every person.</summary>
/// <param name="BrowRaise">Brow lift (up is positive), normalised units.</param>
/// <param name="BrowTilt">Inner ends raised (positive, sad/fear) or lowered (negative, anger/aversion).</param>
/// <param name="EyeOpen">Eye opening relative to neutral.</param>
/// <param name="EyeSmile">0..1: the lower lid pushed up into a crescent (happiness).</param>
/// <param name="LidTilt">Upper lid slant: positive droops at the outer corner (sadness), negative at the inner (anger).</param>
/// <param name="Mouth">Mouth shape.</param>
/// <param name="Curve">Mouth corners up (positive) or down (negative).</param>
/// <param name="Open">Mouth opening.</param>
/// <param name="Width">Mouth width relative to the person's.</param>
/// <param name="Cheeks">Raised cheeks and smile lines (0..1).</param>
/// <param name="Wrinkle">Nose and glabella wrinkles (0..1).</param>
/// <param name="Asym">Asymmetry: the image-left side of brows/mouth lifted (aversion).</param>
internal sealed record FaceExpression(double BrowRaise, double BrowTilt, double EyeOpen, double EyeSmile, double LidTilt,
    MouthKind Mouth, double Curve, double Open, double Width, double Cheeks, double Wrinkle, double Asym)
{
    public static readonly IReadOnlyDictionary<string, FaceExpression> All = new Dictionary<string, FaceExpression>
    {
        ["neutral"] = new(0, 0, 1.0, 0, 0, MouthKind.Closed, 0.005, 0, 1.0, 0, 0, 0),
        ["happiness"] = new(0.01, 0, 0.80, 0.75, 0, MouthKind.Smile, 0.075, 0.085, 1.28, 1, 0, 0),
        ["surprise"] = new(0.085, 0.01, 1.55, 0, 0, MouthKind.Round, 0, 0.13, 0.55, 0, 0, 0),
        ["aversion"] = new(-0.045, -0.045, 0.48, 0.2, -0.2, MouthKind.Sneer, -0.075, 0.06, 1.1, 0, 1, 1),
        ["fear"] = new(0.06, 0.05, 1.45, 0, 0.1, MouthKind.Wide, -0.02, 0.06, 1.25, 0, 0, 0),
        ["anger"] = new(-0.07, -0.095, 0.62, 0, -0.55, MouthKind.Closed, -0.035, 0, 0.80, 0, 1, 0),
        ["sadness"] = new(0.01, 0.085, 0.62, 0, 0.6, MouthKind.Closed, -0.095, 0, 0.88, 0, 0, 0),
    };
}

/// <summary>Draws one face (identity x expression) upright with signed-distance shapes.</summary>
internal static class FaceDrawing
{
    /// <summary>The fixed neutral background colour.</summary>
    public static readonly Rgb Background = new(0.74, 0.75, 0.77);
    private static readonly Rgb Shirt = new(0.33, 0.34, 0.37);
    private static readonly Rgb Sclera = new(0.96, 0.95, 0.93);
    private static readonly Rgb Dark = new(0.10, 0.06, 0.06);
    private static readonly Rgb MouthInside = new(0.30, 0.07, 0.08);
    private static readonly Rgb Teeth = new(0.97, 0.96, 0.92);

    private const double FaceY = -0.02, EyeY = -0.10, Shade = 0.14;
    /// <summary>The visible square: x in [-View, View], y in [ViewCenterY - View, ViewCenterY + View] (a face crop like KDEF's).</summary>
    public const double View = 0.86, ViewCenterY = -0.02;

    public static void Draw(FaceRaster g, FaceIdentity p, FaceExpression e)
    {
        double fw = p.FaceW, fh = p.FaceH, top = FaceY - fh;
        Rgb skin = p.Skin, skinDark = skin.Scale(0.82), skinLine = skin.Scale(0.62);
        Rgb lips = Rgb.Mix(skin, new Rgb(0.72, 0.30, 0.30), 0.45).Scale(0.92);
        Rgb hair = p.HairColor;

        // Shoulders and neck.
        g.Fill((x, y) => FaceRaster.Ellipse(x, y, 0, 1.32, 1.0, 0.58), Shirt, -1, 0.7, 1, 1, shade: Shade);
        double neckW = fw * 0.42;
        g.Fill((x, y) => Math.Max(Math.Abs(x) - neckW, Math.Max(FaceY + 0.2 - y, y - 0.95)), skinDark, -neckW, 0.1, neckW, 0.95, shade: Shade);

        // Hair behind the head.
        DrawBackHair(g, p, top);

        // Ears, then the egg-shaped face (narrower below its centre by the jaw factor).
        foreach (int s in new[] { -1, 1 })
        {
            double ex = s * fw * 0.97, ey = EyeY + 0.07;
            g.Fill((x, y) => FaceRaster.Ellipse(x, y, ex, ey, p.EarSize * 0.6, p.EarSize), skinDark, ex - 0.1, ey - 0.15, ex + 0.1, ey + 0.15, shade: Shade);
        }
        FaceRaster.Sdf face = (x, y) =>
        {
            double t = Math.Clamp((y - FaceY) / fh, 0, 1);
            return FaceRaster.Ellipse(x, y, 0, FaceY, fw * (1 - p.Jaw * t * t), fh);
        };
        g.Fill(face, skin, -fw, top, fw, FaceY + fh, shade: Shade);

        DrawTopHair(g, p, top);

        // Cheeks (happiness): lighter, rounder skin under the eyes and smile lines.
        if (e.Cheeks > 0)
        {
            foreach (int s in new[] { -1, 1 })
            {
                double cx = s * (p.EyeSpacing + 0.03), cy = EyeY + 0.17;
                g.Fill((x, y) => FaceRaster.Ellipse(x, y, cx, cy, 0.10, 0.065), Rgb.Mix(skin, new Rgb(0.95, 0.55, 0.55), 0.25),
                    cx - 0.13, cy - 0.1, cx + 0.13, cy + 0.1, 0.6 * e.Cheeks);
            }
        }

        DrawEyes(g, p, e, skin, skinLine);
        DrawBrows(g, p, e);
        DrawNose(g, p, e, skinLine);
        DrawMouth(g, p, e, lips, skinLine);
    }

    private static Rgb BrowColor(FaceIdentity p) =>
        p.HairColor.R + p.HairColor.G > 1.2 ? Rgb.Mix(p.HairColor, new Rgb(0.35, 0.25, 0.15), 0.55) : p.HairColor.Scale(0.9);

    private static void DrawBackHair(FaceRaster g, FaceIdentity p, double top)
    {
        double fw = p.FaceW, v = p.HairVolume;
        Rgb c = p.HairColor.Scale(0.85);
        switch (p.Hair)
        {
            case HairStyle.Long:
            {
                double w = fw + v + 0.04, y0 = top - v, y1 = 0.9;
                // Union of the head-sized ellipse and a curtain from the face centre down to the shoulders.
                g.Fill((x, y) => Math.Min(FaceRaster.Ellipse(x, y, 0, FaceY, w, FaceY - y0),
                    Math.Max(Math.Abs(x) - w, Math.Max(FaceY - y, y - y1))), c, -w, y0, w, y1, shade: Shade);
                break;
            }
            case HairStyle.Bob:
            {
                double w = fw + v, y1 = FaceY + p.FaceH * 0.45;
                g.Fill((x, y) => Math.Max(FaceRaster.Ellipse(x, y, 0, FaceY, w, p.FaceH + v), y - y1), c, -w, top - v, w, y1, shade: Shade);
                break;
            }
            case HairStyle.Curly:
            {
                double w = fw + v + 0.12, h = p.FaceH + v + 0.08;
                g.Fill((x, y) =>
                {
                    double ang = Math.Atan2(y - FaceY, x);
                    return FaceRaster.Ellipse(x, y, 0, FaceY - 0.04, w, h) + 0.022 * Math.Sin(14 * ang);
                }, c, -w - 0.05, FaceY - h - 0.1, w + 0.05, FaceY + 0.35, shade: Shade);
                break;
            }
            case HairStyle.Bun:
                g.Fill((x, y) => FaceRaster.Circle(x, y, 0, top - v - 0.07, 0.15), c, -0.2, top - 0.4, 0.2, top, shade: Shade);
                break;
        }
    }

    /// <summary>Hair over the head: the hair ellipse above a hairline curve y = line(x).</summary>
    private static void DrawTopHair(FaceRaster g, FaceIdentity p, double top)
    {
        double fw = p.FaceW, fh = p.FaceH, v = p.HairVolume;
        Rgb c = p.HairColor;
        double hw = fw + v, hh = fh + v;
        Func<double, double>? line = p.Hair switch
        {
            // Forehead line that drops to ear level at the sides.
            HairStyle.Short => x => top + 0.22 * fh + 0.45 * fh * Math.Pow(Math.Abs(x) / fw, 4),
            HairStyle.Long => x => top + 0.20 * fh + 0.55 * fh * Math.Pow(Math.Abs(x) / fw, 3),
            HairStyle.Bob => x => top + 0.42 * fh + 0.40 * fh * Math.Pow(Math.Abs(x) / fw, 6),
            // Swept from a parting on the image-left: low on the right, high on the left.
            HairStyle.SidePart => x => top + 0.17 * fh + 0.12 * fh * (x / fw + 1) + 0.45 * fh * Math.Pow(Math.Abs(x) / fw, 4),
            HairStyle.Curly => x => top + 0.24 * fh + 0.45 * fh * Math.Pow(Math.Abs(x) / fw, 4),
            HairStyle.Bun => x => top + 0.20 * fh + 0.50 * fh * Math.Pow(Math.Abs(x) / fw, 3),
            _ => null,
        };
        if (line != null)
        {
            g.Fill((x, y) => Math.Max(FaceRaster.Ellipse(x, y, 0, FaceY, hw, hh), y - line(x)), c, -hw, FaceY - hh, hw, FaceY + 0.1, shade: Shade);
            if (p.Hair == HairStyle.SidePart)
            {
                double px = -0.35 * fw;
                var part = FaceRaster.Stroke(new[] { (px, top - v * 0.4), (px + 0.02, top + 0.12) }, 0.018, 0.008);
                g.Fill(part, c.Scale(0.55), px - 0.05, top - v - 0.05, px + 0.07, top + 0.2);
            }
        }
        else
        {
            // Receding: hair only at the sides above the ears, and a thin crown line.
            g.Fill((x, y) => Math.Max(FaceRaster.Ellipse(x, y, 0, FaceY, hw, hh), Math.Max(0.72 * fw - Math.Abs(x), Math.Max(EyeY - 0.25 - y, y - (EyeY + 0.05)))),
                c, -hw, EyeY - 0.3, hw, EyeY + 0.1, shade: Shade);
        }
    }

    private static void DrawEyes(FaceRaster g, FaceIdentity p, FaceExpression e, Rgb skin, Rgb skinLine)
    {
        double w = p.EyeW, h0 = w * 0.52, h = h0 * e.EyeOpen;
        foreach (int s in new[] { -1, 1 })
        {
            double ex = s * p.EyeSpacing, ey = EyeY;
            // Upper lid: the ellipse top, lowered by the lid slant; lower lid pushed up by a smile.
            double Upper(double x)
            {
                double u = (x - ex) / w, arc = Math.Sqrt(Math.Max(0, 1 - u * u));
                double slant = e.LidTilt * h0 * (s * u + 1) * 0.5;
                return ey - h * arc + Math.Max(0, slant);
            }
            double Lower(double x)
            {
                double u = (x - ex) / w, arc = Math.Sqrt(Math.Max(0, 1 - u * u));
                return ey + h * arc * (1 - 1.6 * e.EyeSmile) + e.EyeSmile * h0 * 0.6 * (1 - arc);
            }
            // Anger: inner end of the lid lower (negative tilt).
            double UpperAll(double x)
            {
                double u = (x - ex) / w;
                double up = Upper(x);
                if (e.LidTilt < 0) up += -e.LidTilt * h0 * Math.Max(0, -s * u + 1) * 0.5 - Math.Max(0, e.LidTilt * h0 * (s * u + 1) * 0.5);
                return up;
            }
            var eye = FaceRaster.Between(UpperAll, Lower, ex - w, ex + w);
            g.Fill(eye, Sclera, ex - w, ey - h - 0.02, ex + w, ey + h + 0.02);
            double ir = h0 * 0.95, iy = ey + (e.EyeSmile > 0 ? h0 * 0.1 : 0);
            g.Fill((x, y) => Math.Max(FaceRaster.Circle(x, y, ex, iy, ir), eye(x, y)), p.Iris, ex - ir, iy - ir, ex + ir, iy + ir);
            g.Fill((x, y) => Math.Max(FaceRaster.Circle(x, y, ex, iy, ir * 0.45), eye(x, y)), Dark, ex - ir, iy - ir, ex + ir, iy + ir);
            double hx = ex - ir * 0.35, hy = iy - ir * 0.35;
            g.Fill((x, y) => Math.Max(FaceRaster.Circle(x, y, hx, hy, ir * 0.22), eye(x, y)), Teeth, hx - 0.03, hy - 0.03, hx + 0.03, hy + 0.03, 0.9);
            // Lash line along the upper lid, thicker at the outer corner.
            var lid = FaceRaster.Curve(UpperAll, ex - w, ex + w, 10);
            if (s < 0) Array.Reverse(lid);
            g.Fill(FaceRaster.Stroke(lid, 0.016, 0.028), Dark, ex - w - 0.03, ey - h - 0.04, ex + w + 0.03, ey + h0 + 0.02);
            // Crease under a smiling eye; fold above a wide-open one.
            if (e.EyeSmile > 0.3)
                g.Fill(FaceRaster.Stroke(FaceRaster.Curve(x => Lower(x) + 0.025, ex - w * 0.9, ex + w * 0.9, 8), 0.010, 0.010), skinLine,
                    ex - w - 0.03, ey - 0.05, ex + w + 0.03, ey + h0 + 0.08, 0.8);
            if (e.EyeOpen > 1.2)
                g.Fill(FaceRaster.Stroke(FaceRaster.Curve(x => UpperAll(x) - 0.035, ex - w * 0.8, ex + w * 0.8, 8), 0.009, 0.009), skinLine,
                    ex - w - 0.03, ey - h - 0.1, ex + w + 0.03, ey, 0.7);
        }
    }

    private static void DrawBrows(FaceRaster g, FaceIdentity p, FaceExpression e)
    {
        Rgb c = BrowColor(p);
        double w = p.EyeW;
        foreach (int s in new[] { -1, 1 })
        {
            double inner = s * (p.EyeSpacing - w * 1.0), outer = s * (p.EyeSpacing + w * 1.25);
            double baseY = EyeY - w * 0.52 - 0.075 - e.BrowRaise - (s < 0 ? e.Asym * 0.03 : -e.Asym * 0.01);
            var pts = new (double X, double Y)[7];
            for (int i = 0; i < pts.Length; i++)
            {
                double t = i / (pts.Length - 1.0);
                double x = inner + (outer - inner) * t;
                double y = baseY - p.BrowArch * Math.Sin(Math.PI * Math.Min(1, t * 1.3)) - e.BrowTilt * (1 - t) * 1.0
                    - (e.BrowRaise > 0.05 ? 0.03 * Math.Sin(Math.PI * t) : 0);
                pts[i] = (x, y);
            }
            double x0 = Math.Min(inner, outer) - 0.05, x1 = Math.Max(inner, outer) + 0.05;
            g.Fill(FaceRaster.Stroke(pts, p.BrowThick, p.BrowThick * 0.55), c, x0, baseY - 0.2, x1, baseY + 0.1);
        }
        if (e.Wrinkle > 0)
        {
            // Vertical frown lines between the brows.
            double y0 = EyeY - w * 0.52 - 0.07 - e.BrowRaise;
            foreach (int s in new[] { -1, 1 })
                g.Fill(FaceRaster.Stroke(new[] { (s * 0.035, y0 - 0.05), (s * 0.045, y0 + 0.02) }, 0.011, 0.008), p.Skin.Scale(0.62),
                    -0.1, y0 - 0.1, 0.1, y0 + 0.05, 0.8 * e.Wrinkle);
        }
    }

    private static void DrawNose(FaceRaster g, FaceIdentity p, FaceExpression e, Rgb skinLine)
    {
        double tipY = EyeY + p.NoseLen, nw = p.NoseW * (1 + 0.15 * e.Wrinkle);
        // Shadow along the right side of the bridge (light comes from the upper left).
        var bridge = FaceRaster.Stroke(new[] { (0.035, EyeY + 0.02), (0.045, tipY - 0.06), (nw * 0.45, tipY - 0.01) }, 0.012, 0.02);
        g.Fill(bridge, skinLine, -0.05, EyeY, nw, tipY + 0.02, 0.45);
        g.Fill((x, y) => FaceRaster.Ellipse(x, y, 0, tipY - 0.01, nw * 0.42, 0.04), p.Skin.Scale(0.9), -nw, tipY - 0.06, nw, tipY + 0.04, 0.8);
        foreach (int s in new[] { -1, 1 })
        {
            double nx = s * nw * 0.42, ny = tipY + 0.012;
            g.Fill((x, y) => FaceRaster.Ellipse(x, y, nx, ny, 0.025, 0.014), skinLine.Scale(0.7), nx - 0.04, ny - 0.03, nx + 0.04, ny + 0.03);
        }
        if (e.Wrinkle > 0)
            for (int i = 0; i < 3; i++)
            {
                double y = EyeY + 0.03 + i * 0.028;
                g.Fill(FaceRaster.Stroke(new[] { (-0.04, y + 0.006), (0.0, y - 0.004), (0.04, y + 0.006) }, 0.009, 0.009), skinLine,
                    -0.07, y - 0.03, 0.07, y + 0.03, 0.75 * e.Wrinkle);
            }
    }

    private static void DrawMouth(FaceRaster g, FaceIdentity p, FaceExpression e, Rgb lips, Rgb skinLine)
    {
        double my = EyeY + p.NoseLen + 0.045 + 0.04 + p.FaceH * 0.10;
        double w = p.MouthW * e.Width, lt = p.LipThick;
        double x0 = -w, x1 = w;
        switch (e.Mouth)
        {
            case MouthKind.Round:
            {
                double a = w, b = e.Open;
                g.Fill((x, y) => FaceRaster.Ellipse(x, y, 0, my + 0.02, a + lt * 0.8, b + lt), lips, -a - 0.05, my - b - 0.05, a + 0.05, my + b + 0.1);
                g.Fill((x, y) => FaceRaster.Ellipse(x, y, 0, my + 0.02, a, b), MouthInside, -a, my - b, a, my + b + 0.05);
                break;
            }
            case MouthKind.Smile:
            case MouthKind.Wide:
            {
                bool smile = e.Mouth == MouthKind.Smile;
                Func<double, double> topF = x => { double u = x / w; return my - e.Curve * u * u + (smile ? 0 : 0.01 * u * u); };
                Func<double, double> botF = x =>
                {
                    double u = x / w;
                    double shape = smile ? 1 - u * u : 1 - Math.Pow(Math.Abs(u), 4);
                    return topF(x) + e.Open * shape;
                };
                g.Fill(FaceRaster.Between(x => topF(x) - lt * 0.6 * Math.Sqrt(Math.Max(0, 1 - (x / w) * (x / w))) - 0.006, x => botF(x) + lt * 0.9 * Math.Sqrt(Math.Max(0, 1 - (x / w) * (x / w))) + 0.006, -w - 0.01, w + 0.01),
                    lips, -w - 0.05, my - 0.15, w + 0.05, my + 0.2);
                var inside = FaceRaster.Between(topF, botF, -w, w);
                g.Fill(inside, MouthInside, -w, my - 0.15, w, my + 0.2);
                g.Fill((x, y) => Math.Max(inside(x, y), y - (topF(x) + e.Open * (smile ? 0.42 : 0.3))), Teeth, -w, my - 0.15, w, my + 0.2);
                if (!smile)
                    g.Fill((x, y) => Math.Max(inside(x, y), botF(x) - e.Open * 0.3 - y), Teeth, -w, my - 0.15, w, my + 0.2);
                if (e.Cheeks > 0)
                {
                    // Smile lines from the nose wings to the mouth corners.
                    foreach (int s in new[] { -1, 1 })
                    {
                        double nx = s * p.NoseW * 0.6, ny = EyeY + p.NoseLen, cx = s * (w + 0.035), cy = topF(w) + 0.005;
                        var pts = new[] { (nx + s * 0.02, ny - 0.01), (nx + s * 0.06, (ny + cy) / 2), (cx, cy) };
                        g.Fill(FaceRaster.Stroke(pts, 0.010, 0.014), skinLine, -0.6, ny - 0.05, 0.6, cy + 0.05, 0.75 * e.Cheeks);
                    }
                }
                break;
            }
            case MouthKind.Closed:
            case MouthKind.Sneer:
            {
                bool sneer = e.Mouth == MouthKind.Sneer;
                // Midline; the sneer lifts the upper lip on the image-left side, baring teeth there.
                Func<double, double> mid = x => { double u = x / w; return my - e.Curve * u * u; };
                Func<double, double> gap = x =>
                {
                    if (!sneer) return 0;
                    double u = x / w;
                    return e.Open * Math.Max(0, Math.Sin(Math.PI * Math.Clamp(-u, 0, 1))) * 1.3;
                };
                double thin = e.Wrinkle > 0 && !sneer ? 0.55 : 1.0; // anger presses the lips thin
                Func<double, double> arc = x => Math.Sqrt(Math.Max(0, 1 - (x / w) * (x / w)));
                Func<double, double> upper = x => mid(x) - gap(x) - lt * 0.75 * thin * arc(x) - 0.004;
                Func<double, double> lower = x => mid(x) + lt * thin * arc(x) + 0.004;
                g.Fill(FaceRaster.Between(upper, lower, -w, w), lips, -w - 0.02, my - 0.15, w + 0.02, my + 0.12);
                if (sneer)
                {
                    var teeth = FaceRaster.Between(x => mid(x) - gap(x), mid, -w, w);
                    g.Fill(teeth, Teeth, -w, my - 0.12, w, my + 0.1);
                    // Wrinkle from the raised lip up to the nose wing.
                    double nx = -p.NoseW * 0.55, ny = EyeY + p.NoseLen;
                    g.Fill(FaceRaster.Stroke(new[] { (nx - 0.02, ny - 0.02), (nx - 0.06, ny + 0.03), (-w * 0.7, mid(-w * 0.5) - gap(-w * 0.5) - 0.02) }, 0.012, 0.012),
                        skinLine, -0.5, ny - 0.05, 0.1, my + 0.05, 0.8);
                }
                g.Fill(FaceRaster.Stroke(FaceRaster.Curve(mid, -w, w, 12), 0.017, 0.017), Dark.Scale(1.5), -w - 0.02, my - 0.12, w + 0.02, my + 0.12, 0.85);
                break;
            }
        }
    }
}
