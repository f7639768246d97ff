using GcnNative.Cpu;
using GcnNative.Cuda;
using GcnNative.Cuda.Native;
using GcnNative.Verify;
using NUnit.Framework;

namespace GcnNative.Tests.Cuda;

/// <summary>
/// The CUDA backend against the CPU reference. Where there is no usable GPU (CI, the
/// development machines) the GPU tests are ignored with the doctor's one-line reason, and the
/// tests of the failure path run instead.
/// </summary>
[NonParallelizable]
public class CudaTests
{
    private static CudaBackend? TryCuda(bool tf32 = false)
    {
        if (CudaBackend.TryCreate(tf32, out var backend, out var whyNot)) return backend;
        Assert.Ignore($"no CUDA: {whyNot}");
        return null;
    }

    [Test]
    public void VerifierPassesOnCuda()
    {
        using var cuda = TryCuda()!;
        using var cpu = new CpuBackend(CpuPath.Reference);
        var log = new StringWriter();
        bool ok = new BackendVerifier(cpu, cuda, log).RunAll();
        TestContext.Out.WriteLine(log.ToString());
        Assert.That(ok, Is.True);
    }

    [Test]
    public void VerifierPassesOnCudaWithTf32Tolerances()
    {
        using var cuda = TryCuda(tf32: true)!;
        using var cpu = new CpuBackend(CpuPath.Reference);
        var log = new StringWriter();
        bool ok = new BackendVerifier(cpu, cuda, log, new VerifierSettings { Tf32 = true }).RunAll();
        TestContext.Out.WriteLine(log.ToString());
        Assert.That(ok, Is.True);
    }

    [Test]
    public void OperationsAllocateNoDeviceMemory()
    {
        using var cuda = TryCuda()!;
        var g = ConvGeometry.ForTransposed(8, 16, 7, 7, 3, kernel: 4, stride: 2, pad: 1);
        using var x = cuda.Allocate(g.XShape);
        using var w = cuda.Allocate(g.WShape);
        using var y = cuda.Allocate(g.YShape);
        using var m = cuda.Allocate(g.XShape);
        cuda.PrepareConvolution(g);
        long before = cuda.BytesAllocated;
        for (int i = 0; i < 3; i++)
        {
            cuda.ConvBackwardData(g, y, w, x);
            cuda.ConvForward(g, x, w, y);
            cuda.ConvBackwardFilter(g, x, y, w, accumulate: true);
            cuda.LeakyReluForward(x, x, 0.2f);
            cuda.DropoutForward(x, x, m, 0.5f, (ulong)i);
            cuda.AdamUpdate(w, w, w, w, new AdamStep(1e-4f, 0.5f, 0.999f, 1e-8f, i + 1, 0));
        }
        cuda.Synchronize();
        Assert.That(cuda.BytesAllocated, Is.EqualTo(before));
    }

    [Test]
    public void DoctorExplainsInOneLineWhyCudaIsUnavailable()
    {
        var report = CudaDoctor.Run();
        var text = report.Format();
        TestContext.Out.WriteLine(text);
        if (report.CanTrain) Assert.Ignore($"CUDA is available here:\n{text}");
        Assert.That(report.UnavailableReason, Is.Not.Null.And.Not.Empty);
        Assert.That(report.UnavailableReason, Does.Not.Contain("\n"));
        var last = text.Split('\n')[^1];
        Assert.That(last, Does.StartWith("cuda: unavailable: "));
        if (!report.DriverUsable)
        {
            Assert.That(text, Does.Not.Contain("\n"), "no driver: exactly one line");
            Assert.That(text, Does.Contain("libcuda.so.1"));
        }
    }

    [Test]
    public void DoctorWithNoDriverInTheSearchSaysSoInOneLine()
    {
        var empty = Directory.CreateTempSubdirectory("gcn-no-cuda-");
        try
        {
            var report = CudaDoctor.Run(new CudaSearchOptions { Directories = [empty.FullName], UseSystemLoader = false });
            var text = report.Format();
            Assert.That(report.CanTrain, Is.False);
            Assert.That(text, Is.EqualTo(
                $"cuda: unavailable: libcuda.so.1 not found (searched: {empty.FullName}) — no NVIDIA driver on this machine"));
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Test]
    public void DoctorNamesALibraryThatExistsButDoesNotLoad()
    {
        var dir = Directory.CreateTempSubdirectory("gcn-bad-cuda-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "libcuda.so.1"), "not an ELF file");
            var report = CudaDoctor.Run(new CudaSearchOptions { Directories = [dir.FullName], UseSystemLoader = false });
            var text = report.Format();
            Assert.That(text, Does.Not.Contain("\n"));
            Assert.That(text, Does.StartWith("cuda: unavailable: libcuda.so.1 found but not loadable: "));
            Assert.That(text, Does.Contain(Path.Combine(dir.FullName, "libcuda.so.1")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void EntryPointsFailCleanlyWithoutCuda()
    {
        if (CudaBackend.TryCreate(false, out var backend, out var whyNot))
        {
            backend!.Dispose();
            Assert.Ignore("CUDA is available here");
        }
        Assert.That(whyNot, Is.Not.Empty.And.Not.Contain("\n"));

        var doctorOut = new StringWriter();
        Assert.That(CudaDoctor.Run(doctorOut), Is.EqualTo(1));
        Assert.That(doctorOut.ToString().TrimEnd().Split('\n')[^1], Does.StartWith("cuda: unavailable: "));

        var verifyOut = new StringWriter();
        Assert.That(CudaVerify.Run(verifyOut, tf32: false), Is.EqualTo(2));
        Assert.That(verifyOut.ToString().TrimEnd(), Is.EqualTo($"cuda: unavailable: {whyNot}"));
    }

    [Test]
    public void TheDefaultSearchListsOnlyExistingFoldersWithoutStubs()
    {
        var dirs = LibraryLocator.DefaultDirectories();
        Assert.That(dirs, Is.Unique);
        Assert.That(dirs.All(Directory.Exists), Is.True);
        Assert.That(dirs.Any(d => d.Contains("/stubs")), Is.False);
    }
}
