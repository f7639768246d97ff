namespace GcnNative.Data;

/// <summary>
/// A tiny 5x7 pixel font for plot labels: digits, upper-case letters (lower case is drawn as upper
/// case) and a few signs. Each glyph is seven rows of five bits, most significant bit on the left.
/// </summary>
internal static class BitmapFont
{
    public const int GlyphWidth = 5, GlyphHeight = 7, Advance = 6;

    // The character followed by 7 hex bytes, one per row, top to bottom.
    private static readonly string[] Table =
    {
        "00E11131519110E", "1040C040404040E", "20E11010204081F", "31F02040201110E", "402060A121F0202",
        "51F101E0101110E", "60608101E11110E", "71F010204080808", "80E11110E11110E", "90E11110F01020C",
        "A0E11111F111111", "B1E11111E11111E", "C0E11101010110E", "D1C12111111121C", "E1F10101E10101F",
        "F1F10101E101010", "G0E11101711110F", "H1111111F111111", "I0E04040404040E", "J0702020202120C",
        "K11121418141211", "L1010101010101F", "M111B1515111111", "N11111915131111", "O0E11111111110E",
        "P1E11111E101010", "Q0E11111115120D", "R1E11111E141211", "S0F10100E01011E", "T1F040404040404",
        "U1111111111110E", "V11111111110A04", "W1111111515150A", "X11110A040A1111", "Y11110A04040404",
        "Z1F01020408101F", ".00000000000C0C", "-0000001F000000", "+0004041F040400", ":000C0C000C0C00",
        "_0000000000001F", "/00010204081000", "(02040808080402", ")08040202020408", "=00001F001F0000",
        ",000000000C0408", "%18190204081303", "?0E110102040004", " 00000000000000",
    };

    private static readonly Dictionary<char, byte[]> Glyphs = Table.ToDictionary(
        entry => entry[0],
        entry => Convert.FromHexString(entry[1..]));

    /// <summary>The seven row masks of <paramref name="c"/> ('?' for characters the font lacks).</summary>
    public static byte[] Glyph(char c) =>
        Glyphs.TryGetValue(char.ToUpperInvariant(c), out byte[]? rows) ? rows : Glyphs['?'];

    /// <summary>Width in pixels of <paramref name="text"/> drawn at scale 1.</summary>
    public static int Measure(string text) => text.Length == 0 ? 0 : text.Length * Advance - 1;
}
