namespace GcnNative.Cuda.Native;

/// <summary>
/// cuBLAS (libcublas.so.13, else .12), the exports this backend uses. cublasHandle_t and
/// cudaStream_t are pointers; cublasOperation_t, cublasMath_t, libraryPropertyType and the
/// status are int. alpha/beta are host pointers (the default pointer mode).
/// </summary>
internal sealed unsafe class CuBlas
{
    public const int CUBLAS_OP_N = 0;
    public const int CUBLAS_OP_T = 1;
    public const int CUBLAS_DEFAULT_MATH = 0;
    public const int CUBLAS_TF32_TENSOR_OP_MATH = 3;
    public const int MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2;

    public readonly LibraryLookup Library;
    public readonly LibraryLookup Lt;

    public readonly delegate* unmanaged<IntPtr*, int> cublasCreate;
    public readonly delegate* unmanaged<IntPtr, int> cublasDestroy;
    public readonly delegate* unmanaged<IntPtr, IntPtr, int> cublasSetStream;
    public readonly delegate* unmanaged<IntPtr, int, int> cublasSetMathMode;
    /// <summary>cublasSetWorkspace_v2(handle, void* workspace, size_t bytes); may be absent (old cuBLAS).</summary>
    public readonly delegate* unmanaged<IntPtr, ulong, nuint, int> cublasSetWorkspace;
    public readonly delegate* unmanaged<int, int*, int> cublasGetProperty;

    /// <summary>
    /// cublasSgemm_v2(handle, transa, transb, m, n, k, const float* alpha, const float* A, int lda,
    /// const float* B, int ldb, const float* beta, float* C, int ldc), column-major.
    /// </summary>
    public readonly delegate* unmanaged<IntPtr, int, int, int, int, int, float*, ulong, int, ulong, int, float*, ulong, int, int>
        cublasSgemm;

    private CuBlas(LibraryLookup library, LibraryLookup lt, ExportTable t)
    {
        Library = library;
        Lt = lt;
        cublasCreate = (delegate* unmanaged<IntPtr*, int>)t.Get("cublasCreate_v2");
        cublasDestroy = (delegate* unmanaged<IntPtr, int>)t.Get("cublasDestroy_v2");
        cublasSetStream = (delegate* unmanaged<IntPtr, IntPtr, int>)t.Get("cublasSetStream_v2");
        cublasSetMathMode = (delegate* unmanaged<IntPtr, int, int>)t.Get("cublasSetMathMode");
        cublasSetWorkspace = (delegate* unmanaged<IntPtr, ulong, nuint, int>)t.Optional("cublasSetWorkspace_v2");
        cublasGetProperty = (delegate* unmanaged<int, int*, int>)t.Get("cublasGetProperty");
        cublasSgemm = (delegate* unmanaged<IntPtr, int, int, int, int, int, float*, ulong, int, ulong, int, float*, ulong, int, int>)
            t.Get("cublasSgemm_v2");
    }

    public static CuBlas? Bind(LibraryLookup library, LibraryLookup lt, out string? problem)
    {
        var table = new ExportTable(library.Handle);
        var blas = new CuBlas(library, lt, table);
        problem = table.Missing.Count == 0 ? null : $"{library.Path} lacks {string.Join(", ", table.Missing)}";
        return problem is null ? blas : null;
    }

    /// <summary>"13.0.2" from cublasGetProperty (needs no GPU).</summary>
    public string Version()
    {
        int major = 0, minor = 0, patch = 0;
        if (cublasGetProperty(MAJOR_VERSION, &major) != 0) return "?";
        cublasGetProperty(MINOR_VERSION, &minor);
        cublasGetProperty(PATCH_LEVEL, &patch);
        return $"{major}.{minor}.{patch}";
    }

    public void Check(int status, string call)
    {
        if (status != 0)
            throw new CudaException("cublas", call, status, StatusText.BlasName(status), null, StatusText.BlasHint(status));
    }
}
