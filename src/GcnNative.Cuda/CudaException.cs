namespace GcnNative.Cuda;

/// <summary>
/// A failed call into the CUDA driver, cuBLAS or cuDNN (or a CUDA library that could not be
/// loaded). The message names the call, the status name and code, the library's own text,
/// and a hint where the cause is known.
/// </summary>
public sealed class CudaException : Exception
{
    public CudaException(string message) : base(message) { }

    public CudaException(string library, string call, int status, string statusName, string? text, string? hint)
        : base(Format(library, call, status, statusName, text, hint))
    {
        Library = library;
        Call = call;
        Status = status;
        StatusName = statusName;
    }

    /// <summary>"cuda", "cublas" or "cudnn"; null for loading problems.</summary>
    public string? Library { get; }

    /// <summary>The native function that failed.</summary>
    public string? Call { get; }

    /// <summary>The status code it returned.</summary>
    public int Status { get; }

    public string? StatusName { get; }

    private static string Format(string library, string call, int status, string statusName, string? text, string? hint)
    {
        var s = $"{call} failed: {statusName} ({status})";
        if (!string.IsNullOrWhiteSpace(text) && text != statusName) s += $": {text}";
        if (!string.IsNullOrWhiteSpace(hint)) s += $" — {hint}";
        return $"{library}: {s}";
    }
}

/// <summary>Names and hints for the status codes of the three libraries.</summary>
internal static class StatusText
{
    public static string? DriverHint(int status) => status switch
    {
        1 => "invalid value: a size, pointer or launch configuration is wrong",
        2 => "out of device memory",
        3 => "the driver is not initialised (cuInit was not called or failed)",
        34 => "this libcuda.so.1 is the toolkit's stub, not the driver: install the NVIDIA driver "
              + "or remove the stubs folder from the library path",
        35 => "the installed driver is older than this CUDA runtime needs: update the NVIDIA driver",
        100 => "no CUDA-capable device is visible (driver loaded, but no GPU: check nvidia-smi, "
               + "CUDA_VISIBLE_DEVICES, or a container started without GPU access)",
        101 => "invalid device ordinal",
        200 => "the kernel image is invalid",
        201 => "invalid context (the context was destroyed or is not current)",
        209 => "no kernel image for this GPU",
        218 => "the PTX did not compile: see the JIT log",
        222 => "the PTX .version is newer than this driver supports: update the driver or lower .version",
        304 => "an OS call failed (often a missing /dev/nvidia* device node)",
        700 => "a kernel accessed an illegal address; the context is unusable now; "
               + "rerun under compute-sanitizer to find the kernel",
        719 => "a kernel failed; the context is unusable now",
        803 => "the driver and the CUDA compatibility package disagree (system driver mismatch)",
        804 => "forward compatibility is not supported on this device",
        999 => "unknown error (often a driver/kernel-module mismatch after an update: reboot or reload the module)",
        _ => null,
    };

    public static string BlasName(int status) => status switch
    {
        0 => "CUBLAS_STATUS_SUCCESS",
        1 => "CUBLAS_STATUS_NOT_INITIALIZED",
        3 => "CUBLAS_STATUS_ALLOC_FAILED",
        7 => "CUBLAS_STATUS_INVALID_VALUE",
        8 => "CUBLAS_STATUS_ARCH_MISMATCH",
        11 => "CUBLAS_STATUS_MAPPING_ERROR",
        13 => "CUBLAS_STATUS_EXECUTION_FAILED",
        14 => "CUBLAS_STATUS_INTERNAL_ERROR",
        15 => "CUBLAS_STATUS_NOT_SUPPORTED",
        16 => "CUBLAS_STATUS_LICENSE_ERROR",
        _ => "CUBLAS_STATUS_UNKNOWN",
    };

    public static string? BlasHint(int status) => status switch
    {
        1 => "cuBLAS could not initialise: usually no usable GPU or a libcublasLt of another CUDA version",
        3 => "cuBLAS could not allocate device memory",
        7 => "an argument is invalid (sizes, leading dimensions)",
        8 => "this GPU is not supported by this cuBLAS",
        13 => "the GEMM kernel failed to run",
        _ => null,
    };

    public static string DnnName(int status) => status switch
    {
        0 => "CUDNN_STATUS_SUCCESS",
        1001 => "CUDNN_STATUS_NOT_INITIALIZED",
        1002 => "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH",
        1003 => "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH",
        1004 => "CUDNN_STATUS_DEPRECATED",
        1005 => "CUDNN_STATUS_LICENSE_ERROR",
        1006 => "CUDNN_STATUS_RUNTIME_IN_PROGRESS",
        1007 => "CUDNN_STATUS_RUNTIME_FP_OVERFLOW",
        1008 => "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED",
        >= 2000 and < 3000 => status == 2000 ? "CUDNN_STATUS_BAD_PARAM" : "CUDNN_STATUS_BAD_PARAM_*",
        >= 3000 and < 4000 => status == 3000 ? "CUDNN_STATUS_NOT_SUPPORTED" : "CUDNN_STATUS_NOT_SUPPORTED_*",
        >= 4000 and < 5000 => status == 4000 ? "CUDNN_STATUS_INTERNAL_ERROR" : "CUDNN_STATUS_INTERNAL_ERROR_*",
        >= 5000 and < 6000 => status == 5000 ? "CUDNN_STATUS_EXECUTION_FAILED" : "CUDNN_STATUS_EXECUTION_FAILED_*",
        _ => "CUDNN_STATUS_UNKNOWN",
    };

    public static string? DnnHint(int status) => status switch
    {
        1001 => "cuDNN could not initialise: no usable GPU, or a CUDA runtime/driver it cannot use",
        1002 => "the cuDNN sub-libraries come from different cuDNN versions: point GCN_CUDA_LIB_DIR at one install",
        1008 => "a cuDNN sub-library (libcudnn_graph/ops/cnn/engines_*.so.9) or one of its dependencies "
                + "(libcublasLt, libnvrtc, libz) could not be loaded: set GCN_CUDA_LIB_DIR (or LD_LIBRARY_PATH "
                + "before starting) to the folder of libcudnn.so.9 and of libcublasLt",
        >= 2000 and < 3000 => "a descriptor or argument is invalid for this call",
        >= 3000 and < 4000 => "cuDNN has no engine for this configuration",
        >= 5000 and < 6000 => "a cuDNN kernel failed to run",
        _ => null,
    };
}
