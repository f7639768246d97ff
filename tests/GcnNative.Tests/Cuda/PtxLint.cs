using System.Text.RegularExpressions;

namespace GcnNative.Tests.Cuda;

/// <summary>
/// A small checker of the hand-written PTX, for machines without ptxas (which is the real
/// check and runs on the GPU machine). It parses the subset of PTX the kernels use and
/// reports: a missing or wrong header, unbalanced braces, undeclared registers or register
/// numbers beyond their declaration, branches to unknown labels, ld.param of unknown
/// parameters, instruction lines without ';', and register classes that do not fit the
/// instruction's type (the kernels name registers by class: %p pred, %r b32, %rd b64,
/// %f f32, %fd f64).
/// </summary>
internal static class PtxLint
{
    public sealed record Entry(string Name, IReadOnlyList<(string Type, string Name)> Params, string Body);

    public static string StripComments(string ptx) => Regex.Replace(ptx, @"//[^\n]*", "");

    public static IReadOnlyList<string> HeaderLines(string ptx) =>
        StripComments(ptx).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Take(3).ToList();

    public static IReadOnlyList<Entry> Entries(string ptx)
    {
        var text = StripComments(ptx);
        var result = new List<Entry>();
        foreach (Match m in Regex.Matches(text, @"\.visible\s+\.entry\s+(\w+)\s*\(([^)]*)\)\s*\{"))
        {
            var ps = Regex.Matches(m.Groups[2].Value, @"\.param\s+\.(\w+)\s+(\w+)")
                .Select(p => (p.Groups[1].Value, p.Groups[2].Value)).ToList();
            int start = m.Index + m.Length, depth = 1, i = start;
            for (; i < text.Length && depth > 0; i++)
            {
                if (text[i] == '{') depth++;
                else if (text[i] == '}') depth--;
            }
            result.Add(new Entry(m.Groups[1].Value, ps, text[start..(i - 1)]));
        }
        return result;
    }

    public static bool Balanced(string ptx, char open, char close)
    {
        int depth = 0;
        foreach (char c in StripComments(ptx))
        {
            if (c == open) depth++;
            else if (c == close && --depth < 0) return false;
        }
        return depth == 0;
    }

    private static readonly Dictionary<string, string> ClassOfPrefix = new()
    {
        ["p"] = "pred", ["r"] = "b32", ["rd"] = "b64", ["f"] = "f32", ["fd"] = "f64",
    };

    /// <summary>Every problem found in one entry, as readable lines.</summary>
    public static List<string> Check(Entry e)
    {
        var problems = new List<string>();
        var regs = new Dictionary<string, (string Type, int Count)>();
        var labels = new HashSet<string>();
        var shared = new HashSet<string>();
        var lines = e.Body.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var paramNames = e.Params.Select(p => p.Name).ToHashSet();

        foreach (var line in lines)
        {
            var reg = Regex.Match(line, @"^\.reg\s+\.(\w+)\s+%(\w+)<(\d+)>;$");
            if (reg.Success) { regs[reg.Groups[2].Value] = (reg.Groups[1].Value, int.Parse(reg.Groups[3].Value)); continue; }
            var sh = Regex.Match(line, @"^\.shared\s+.*?(\w+)\[\d+\];$");
            if (sh.Success) { shared.Add(sh.Groups[1].Value); continue; }
            var label = Regex.Match(line, @"^(\w+):$");
            if (label.Success && !labels.Add(label.Groups[1].Value)) problems.Add($"label {label.Groups[1].Value} defined twice");
        }

        foreach (var (name, (type, _)) in regs)
            if (!ClassOfPrefix.TryGetValue(name, out var expected) || expected != type)
                problems.Add($"register class %{name} declared .{type}; the kernels use %p pred, %r b32, %rd b64, %f f32, %fd f64");

        foreach (var line in lines)
        {
            if (line.StartsWith(".reg") || line.StartsWith(".shared") || Regex.IsMatch(line, @"^\w+:$")) continue;
            if (!line.EndsWith(';')) { problems.Add($"no ';': {line}"); continue; }

            foreach (Match r in Regex.Matches(line, @"%([a-z]+)(\d+)"))
            {
                var name = r.Groups[1].Value;
                int index = int.Parse(r.Groups[2].Value);
                if (!regs.TryGetValue(name, out var decl)) problems.Add($"undeclared register %{name}{index}: {line}");
                else if (index >= decl.Count) problems.Add($"%{name}{index} beyond %{name}<{decl.Count}>: {line}");
            }

            var bra = Regex.Match(line, @"\bbra(\.uni)?\s+(\w+);");
            if (bra.Success && !labels.Contains(bra.Groups[2].Value)) problems.Add($"branch to unknown label: {line}");

            foreach (Match p in Regex.Matches(line, @"ld\.param\.\w+\s+%\w+,\s*\[(\w+)\]"))
                if (!paramNames.Contains(p.Groups[1].Value)) problems.Add($"ld.param of unknown parameter: {line}");

            var shMov = Regex.Match(line, @"^mov\.u64\s+%rd\d+,\s*(\w+);$");
            if (shMov.Success && !shared.Contains(shMov.Groups[1].Value)) problems.Add($"mov of unknown symbol: {line}");

            problems.AddRange(CheckTypes(line));
        }
        return problems;
    }

    private static string Width(string type) => type switch
    {
        "pred" => "pred",
        "f32" => "f32",
        "f64" => "f64",
        "u32" or "s32" or "b32" => "b32",
        "u64" or "s64" or "b64" => "b64",
        _ => "?",
    };

    private static string? ClassOf(string operand)
    {
        var m = Regex.Match(operand.Trim(), @"^!?%([a-z]+)\d+$");
        return m.Success && ClassOfPrefix.TryGetValue(m.Groups[1].Value, out var c) ? c : null;
    }

    private static bool Fits(string regClass, string type)
    {
        var w = Width(type);
        if (w == "?") return true;
        if (type == "b32") return regClass is "b32" or "f32";
        if (type == "b64") return regClass is "b64" or "f64";
        return regClass == w;
    }

    private static IEnumerable<string> CheckTypes(string line)
    {
        var body = Regex.Replace(line, @"^@!?%p\d+\s+", "").TrimEnd(';');
        int space = body.IndexOf(' ');
        if (space < 0) yield break;
        var opcode = body[..space];
        var operands = body[(space + 1)..].Split(',').Select(o => o.Trim()).ToList();
        var parts = opcode.Split('.');
        var op = parts[0];
        var types = parts.Skip(1).Where(p => Width(p) != "?").ToList();
        if (types.Count == 0 || op is "bra" or "bar" or "ret") yield break;

        string Bad(string what) => $"{what}: {line}";

        if (op == "cvt" && types.Count == 2)
        {
            if (ClassOf(operands[0]) is { } d && !Fits(d, types[0])) yield return Bad("cvt destination class");
            if (ClassOf(operands[1]) is { } s && !Fits(s, types[1])) yield return Bad("cvt source class");
            yield break;
        }
        var type = types[^1];
        if (op == "setp")
        {
            if (ClassOf(operands[0]) != "pred") yield return Bad("setp destination is not a predicate");
            foreach (var o in operands.Skip(1))
                if (ClassOf(o) is { } c && !Fits(c, type)) yield return Bad("setp operand class");
            yield break;
        }
        if (op is "st" or "red")
        {
            if (ClassOf(operands[^1]) is { } c && !Fits(c, type)) yield return Bad($"{op} value class");
            yield break;
        }
        if (op == "selp")
        {
            for (int i = 0; i < 3; i++)
                if (ClassOf(operands[i]) is { } c && !Fits(c, type)) yield return Bad("selp operand class");
            if (ClassOf(operands[3]) != "pred") yield return Bad("selp selector is not a predicate");
            yield break;
        }
        if (op == "mul" && parts.Contains("wide"))
        {
            if (ClassOf(operands[0]) is { } d && d != "b64") yield return Bad("mul.wide destination must be 64-bit");
            foreach (var o in operands.Skip(1))
                if (ClassOf(o) is { } c && !Fits(c, type)) yield return Bad("mul.wide source class");
            yield break;
        }
        if (op == "shfl")
        {
            if (ClassOf(operands[0]) is { } d && !Fits(d, type)) yield return Bad("shfl destination class");
            if (ClassOf(operands[1]) is { } s && !Fits(s, type)) yield return Bad("shfl source class");
            yield break;
        }
        if (op is "shr" or "shl")
        {
            if (ClassOf(operands[0]) is { } d && !Fits(d, type)) yield return Bad("shift destination class");
            if (ClassOf(operands[1]) is { } s && !Fits(s, type)) yield return Bad("shift source class");
            yield break;
        }
        foreach (var o in operands)
        {
            if (o.StartsWith('[')) continue;
            if (ClassOf(o) is { } c && !Fits(c, type)) yield return Bad($"{op} operand {o} does not fit .{type}");
        }
    }
}
