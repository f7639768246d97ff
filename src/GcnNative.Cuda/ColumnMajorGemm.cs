using GcnNative.Cuda.Native;

namespace GcnNative.Cuda;

/// <summary>
/// How a row-major GEMM maps onto column-major cublasSgemm. A row-major C[m, n] is, in memory,
/// a column-major C^T[n, m]; and C^T = op(B)^T op(A)^T, so the column-major call multiplies B
/// (first) by A (second) into an n x m result with ldc = n:
/// <list type="bullet">
/// <item>B stored [k, n] row-major is column-major [n, k] = op(B)^T: no transpose, ld = n;
/// stored [n, k] (transB) it is column-major [k, n] = op(B): transpose, ld = k.</item>
/// <item>A stored [m, k] row-major is column-major [k, m] = op(A)^T: no transpose, ld = k;
/// stored [k, m] (transA): transpose, ld = m.</item>
/// </list>
/// Leading dimensions are kept >= 1 (cuBLAS rejects 0 even when k = 0).
/// </summary>
internal readonly record struct ColumnMajorGemm(
    int OpFirst, int OpSecond, int M, int N, int K, int LdFirst, int LdSecond, int Ldc)
{
    public static ColumnMajorGemm For(bool transA, bool transB, int m, int n, int k) => new(
        OpFirst: transB ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N,
        OpSecond: transA ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N,
        M: n, N: m, K: k,
        LdFirst: Math.Max(transB ? k : n, 1),
        LdSecond: Math.Max(transA ? m : k, 1),
        Ldc: Math.Max(n, 1));

    /// <summary>
    /// What cublasSgemm computes for this call, written out for column-major storage
    /// (C = alpha op(first) op(second) + beta C); tests run it against the row-major reference.
    /// </summary>
    public void Emulate(float alpha, ReadOnlySpan<float> first, ReadOnlySpan<float> second, float beta, Span<float> c)
    {
        for (int col = 0; col < N; col++)
        for (int row = 0; row < M; row++)
        {
            double sum = 0;
            for (int p = 0; p < K; p++)
            {
                float f = OpFirst == CuBlas.CUBLAS_OP_N ? first[p * LdFirst + row] : first[row * LdFirst + p];
                float s = OpSecond == CuBlas.CUBLAS_OP_N ? second[col * LdSecond + p] : second[p * LdSecond + col];
                sum += (double)f * s;
            }
            int at = col * Ldc + row;
            c[at] = (float)(alpha * sum) + (beta == 0 ? 0 : beta * c[at]);
        }
    }
}
