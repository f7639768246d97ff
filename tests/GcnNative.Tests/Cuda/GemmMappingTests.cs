using GcnNative.Cpu;
using GcnNative.Cuda;
using NUnit.Framework;

namespace GcnNative.Tests.Cuda;

/// <summary>
/// The row-major to column-major operand swap for cublasSgemm, checked without a GPU: the
/// column-major call the backend makes, emulated, must equal the row-major reference GEMM.
/// </summary>
public class GemmMappingTests
{
    [TestCase(1, 1, 1)]
    [TestCase(3, 7, 13)]
    [TestCase(13, 158, 7)]
    [TestCase(7, 1, 158)]
    [TestCase(64, 3, 1)]
    public void ColumnMajorCallEqualsRowMajorReference(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var c0 = Enumerable.Range(0, m * n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            var expected = (float[])c0.Clone();
            CpuReference.Gemm(ta, tb, m, n, k, 0.75f, a, b, 1.25f, expected);

            var actual = (float[])c0.Clone();
            var call = ColumnMajorGemm.For(ta, tb, m, n, k);
            call.Emulate(0.75f, b, a, 1.25f, actual);

            Assert.That(actual, Is.EqualTo(expected).Within(1e-5f), $"m{m} n{n} k{k} {(ta ? "T" : "N")}{(tb ? "T" : "N")}");
        }
    }
}
