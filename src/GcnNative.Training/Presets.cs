using System.Reflection;
using GcnNative.Model;

namespace GcnNative.Training;

/// <summary>The built-in presets: the JSON files of the repository's presets/ folder, embedded in the binary.</summary>
public static class Presets
{
    private const string Prefix = "presets/";

    public static IReadOnlyList<string> Names =>
        typeof(Presets).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^5]).Order().ToArray();

    public static string Text(string name)
    {
        using var s = typeof(Presets).Assembly.GetManifestResourceStream($"{Prefix}{name}.json")
            ?? throw new ConfigException($"unknown preset '{name}' (known: {string.Join(", ", Names)})");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public static GcnConfig Load(string name) => GcnConfig.Parse(Text(name), $"preset '{name}'");
}
