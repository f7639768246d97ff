namespace GcnNative.Data;

/// <summary>A white RGB pixel buffer with the few primitives <see cref="LinePlot"/> needs; drawing outside is clipped.</summary>
internal sealed class Canvas
{
    public Canvas(int width, int height)
    {
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        Array.Fill(Pixels, (byte)255);
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Interleaved RGB, row-major.</summary>
    public byte[] Pixels { get; }

    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        Pixels[i] = c.R;
        Pixels[i + 1] = c.G;
        Pixels[i + 2] = c.B;
    }

    /// <summary>A 2x2 dot, so a single isolated point stays visible.</summary>
    public void Dot(int x, int y, (byte, byte, byte) c)
    {
        Set(x, y, c); Set(x + 1, y, c); Set(x, y + 1, c); Set(x + 1, y + 1, c);
    }

    /// <summary>Bresenham line from (x0,y0) to (x1,y1), inclusive; <paramref name="thick"/> draws 2x2 dots.</summary>
    public void Line(int x0, int y0, int x1, int y1, (byte, byte, byte) c, bool thick = false)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            if (thick) Dot(x0, y0, c); else Set(x0, y0, c);
            if (x0 == x1 && y0 == y1) return;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    public void Fill(int x, int y, int w, int h, (byte, byte, byte) c)
    {
        for (int j = y; j < y + h; j++)
            for (int i = x; i < x + w; i++) Set(i, j, c);
    }

    public void Rect(int x, int y, int w, int h, (byte, byte, byte) c)
    {
        Line(x, y, x + w - 1, y, c);
        Line(x, y + h - 1, x + w - 1, y + h - 1, c);
        Line(x, y, x, y + h - 1, c);
        Line(x + w - 1, y, x + w - 1, y + h - 1, c);
    }

    /// <summary>Draws <paramref name="text"/> with its top-left corner at (x, y).</summary>
    public void Text(int x, int y, string text, (byte, byte, byte) c)
    {
        foreach (char ch in text)
        {
            byte[] rows = BitmapFont.Glyph(ch);
            for (int r = 0; r < BitmapFont.GlyphHeight; r++)
                for (int b = 0; b < BitmapFont.GlyphWidth; b++)
                    if ((rows[r] >> (BitmapFont.GlyphWidth - 1 - b) & 1) != 0) Set(x + b, y + r, c);
            x += BitmapFont.Advance;
        }
    }
}
