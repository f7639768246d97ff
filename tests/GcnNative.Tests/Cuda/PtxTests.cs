using GcnNative.Cuda;
using NUnit.Framework;

namespace GcnNative.Tests.Cuda;

/// <summary>
/// The embedded PTX, checked as text (ptxas runs only on the GPU machine): every kernel the
/// backend launches exists with the parameter types it passes, the headers are the ones the
/// driver accepts, and the bodies pass <see cref="PtxLint"/>.
/// </summary>
public class PtxTests
{
    private static readonly string KernelsFolder =
        Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../kernels"));

    public static IEnumerable<string> Files() => KernelCatalog.Files;

    [Test]
    public void EveryKernelFileIsEmbeddedAndCatalogued()
    {
        var embedded = KernelCatalog.EmbeddedFiles();
        Assert.That(embedded, Is.EquivalentTo(KernelCatalog.Files));
        if (Directory.Exists(KernelsFolder))
            Assert.That(Directory.GetFiles(KernelsFolder, "*.ptx").Select(Path.GetFileName), Is.EquivalentTo(embedded));
    }

    [TestCaseSource(nameof(Files))]
    public void HeaderIsVersion80TargetSm80AddressSize64(string file)
    {
        var ptx = KernelCatalog.ReadPtx(file);
        Assert.That(PtxLint.HeaderLines(ptx), Is.EqualTo(new[] { ".version 8.0", ".target sm_80", ".address_size 64" }));
        Assert.That(ptx.TrimStart(), Does.StartWith("//"), "each file opens with a comment block saying what it computes");
        Assert.That(ptx.All(c => c < 128), Is.True, "PTX must be ASCII");
    }

    [TestCaseSource(nameof(Files))]
    public void BracesAndParenthesesBalance(string file)
    {
        var ptx = KernelCatalog.ReadPtx(file);
        Assert.That(PtxLint.Balanced(ptx, '{', '}'), Is.True, "braces");
        Assert.That(PtxLint.Balanced(ptx, '(', ')'), Is.True, "parentheses");
        Assert.That(PtxLint.Balanced(ptx, '[', ']'), Is.True, "brackets");
    }

    [Test]
    public void EveryCatalogEntryExistsWithTheLaunchedParameterTypes()
    {
        foreach (var entry in KernelCatalog.All)
        {
            var ptx = KernelCatalog.ReadPtx(entry.File);
            Assert.That(ptx, Does.Contain($".visible .entry {entry.Name}("), entry.Name);
            var parsed = PtxLint.Entries(ptx).Single(e => e.Name == entry.Name);
            Assert.That(parsed.Params.Select(p => p.Type), Is.EqualTo(entry.ParamTypes), $"parameters of {entry.Name}");
        }
    }

    [Test]
    public void EveryEntryInTheFilesIsCatalogued()
    {
        foreach (var file in KernelCatalog.Files)
        foreach (var e in PtxLint.Entries(KernelCatalog.ReadPtx(file)))
            Assert.That(KernelCatalog.All.Any(k => k.Name == e.Name && k.File == file), Is.True, $"{file}: {e.Name}");
    }

    [TestCaseSource(nameof(Files))]
    public void BodiesPassTheLint(string file)
    {
        var problems = PtxLint.Entries(KernelCatalog.ReadPtx(file))
            .SelectMany(e => PtxLint.Check(e).Select(p => $"{e.Name}: {p}")).ToList();
        Assert.That(problems, Is.Empty);
    }

    [Test]
    public void TheLintCatchesTypicalMistakes()
    {
        const string bad = """
            .version 8.0
            .target sm_80
            .address_size 64
            .visible .entry k(.param .u64 k_x, .param .u32 k_n)
            {
            	.reg .b32 %r<3>;
            	.reg .f32 %f<2>;
            	.reg .b64 %rd<2>;
            	ld.param.u32 %r3, [k_n];
            	ld.param.u64 %rd1, [k_y];
            	add.f32 %f1, %f1, %r1;
            	bra NOWHERE;
            	mov.u32 %r1, %r2
            	ret;
            }
            """;
        var problems = PtxLint.Check(PtxLint.Entries(bad).Single());
        Assert.That(problems, Has.Some.Contains("beyond %r<3>"));
        Assert.That(problems, Has.Some.Contains("unknown parameter"));
        Assert.That(problems, Has.Some.Contains("does not fit .f32"));
        Assert.That(problems, Has.Some.Contains("unknown label"));
        Assert.That(problems, Has.Some.Contains("no ';'"));
    }
}
