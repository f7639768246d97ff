using System.Runtime.InteropServices;

namespace GcnNative.Cuda.Native;

/// <summary>
/// The CUDA driver API (libcuda.so.1), bound through function pointers to exactly the exports
/// this backend uses. The `_v2` exports are bound where cuda.h maps the plain name to one
/// (the plain names are macros). Types: CUresult, CUdevice, enums = int; CUcontext, CUmodule,
/// CUfunction, CUstream, CUevent = pointers; CUdeviceptr = 64-bit; size_t = nuint.
/// </summary>
internal sealed unsafe class CuDriver
{
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const int CU_JIT_INFO_LOG_BUFFER = 3;
    public const int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    public const int CU_JIT_ERROR_LOG_BUFFER = 5;
    public const int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    public const int CUDA_ERROR_OUT_OF_MEMORY = 2;

    public readonly LibraryLookup Library;

    public readonly delegate* unmanaged<uint, int> cuInit;
    public readonly delegate* unmanaged<int*, int> cuDriverGetVersion;
    public readonly delegate* unmanaged<int*, int> cuDeviceGetCount;
    public readonly delegate* unmanaged<int*, int, int> cuDeviceGet;
    public readonly delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;
    public readonly delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem;
    public readonly delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;
    public readonly delegate* unmanaged<IntPtr*, int, int> cuDevicePrimaryCtxRetain;
    public readonly delegate* unmanaged<int, int> cuDevicePrimaryCtxRelease;
    public readonly delegate* unmanaged<IntPtr, int> cuCtxSetCurrent;
    public readonly delegate* unmanaged<nuint*, nuint*, int> cuMemGetInfo;
    public readonly delegate* unmanaged<ulong*, nuint, int> cuMemAlloc;
    public readonly delegate* unmanaged<ulong, int> cuMemFree;
    public readonly delegate* unmanaged<ulong, void*, nuint, IntPtr, int> cuMemcpyHtoDAsync;
    public readonly delegate* unmanaged<void*, ulong, nuint, IntPtr, int> cuMemcpyDtoHAsync;
    public readonly delegate* unmanaged<ulong, ulong, nuint, IntPtr, int> cuMemcpyDtoDAsync;
    public readonly delegate* unmanaged<ulong, uint, nuint, IntPtr, int> cuMemsetD32Async;
    public readonly delegate* unmanaged<IntPtr*, void*, uint, int*, void**, int> cuModuleLoadDataEx;
    public readonly delegate* unmanaged<IntPtr*, IntPtr, byte*, int> cuModuleGetFunction;
    public readonly delegate* unmanaged<IntPtr, int> cuModuleUnload;
    public readonly delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int> cuLaunchKernel;
    public readonly delegate* unmanaged<IntPtr*, uint, int> cuStreamCreate;
    public readonly delegate* unmanaged<IntPtr, int> cuStreamDestroy;
    public readonly delegate* unmanaged<IntPtr, int> cuStreamSynchronize;
    public readonly delegate* unmanaged<IntPtr*, uint, int> cuEventCreate;
    public readonly delegate* unmanaged<IntPtr, IntPtr, int> cuEventRecord;
    public readonly delegate* unmanaged<IntPtr, int> cuEventSynchronize;
    public readonly delegate* unmanaged<float*, IntPtr, IntPtr, int> cuEventElapsedTime;
    public readonly delegate* unmanaged<IntPtr, int> cuEventDestroy;
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorName;
    public readonly delegate* unmanaged<int, byte**, int> cuGetErrorString;

    private CuDriver(LibraryLookup library, ExportTable t)
    {
        Library = library;
        cuInit = (delegate* unmanaged<uint, int>)t.Get("cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, int>)t.Get("cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)t.Get("cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)t.Get("cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)t.Get("cuDeviceGetName");
        cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)t.Get("cuDeviceTotalMem_v2");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)t.Get("cuDeviceGetAttribute");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)t.Get("cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)t.Get("cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = (delegate* unmanaged<IntPtr, int>)t.Get("cuCtxSetCurrent");
        cuMemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)t.Get("cuMemGetInfo_v2");
        cuMemAlloc = (delegate* unmanaged<ulong*, nuint, int>)t.Get("cuMemAlloc_v2");
        cuMemFree = (delegate* unmanaged<ulong, int>)t.Get("cuMemFree_v2");
        cuMemcpyHtoDAsync = (delegate* unmanaged<ulong, void*, nuint, IntPtr, int>)t.Get("cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = (delegate* unmanaged<void*, ulong, nuint, IntPtr, int>)t.Get("cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = (delegate* unmanaged<ulong, ulong, nuint, IntPtr, int>)t.Get("cuMemcpyDtoDAsync_v2");
        // the async memsets never got a _v2 export
        cuMemsetD32Async = (delegate* unmanaged<ulong, uint, nuint, IntPtr, int>)t.Get("cuMemsetD32Async");
        cuModuleLoadDataEx = (delegate* unmanaged<IntPtr*, void*, uint, int*, void**, int>)t.Get("cuModuleLoadDataEx");
        cuModuleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, byte*, int>)t.Get("cuModuleGetFunction");
        cuModuleUnload = (delegate* unmanaged<IntPtr, int>)t.Get("cuModuleUnload");
        cuLaunchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int>)
            t.Get("cuLaunchKernel");
        cuStreamCreate = (delegate* unmanaged<IntPtr*, uint, int>)t.Get("cuStreamCreate");
        cuStreamDestroy = (delegate* unmanaged<IntPtr, int>)t.Get("cuStreamDestroy_v2");
        cuStreamSynchronize = (delegate* unmanaged<IntPtr, int>)t.Get("cuStreamSynchronize");
        cuEventCreate = (delegate* unmanaged<IntPtr*, uint, int>)t.Get("cuEventCreate");
        cuEventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)t.Get("cuEventRecord");
        cuEventSynchronize = (delegate* unmanaged<IntPtr, int>)t.Get("cuEventSynchronize");
        // CUDA 12.8 added the _v2; CUDA 13 drivers may drop the old one; older drivers lack the _v2
        cuEventElapsedTime = (delegate* unmanaged<float*, IntPtr, IntPtr, int>)t.Get("cuEventElapsedTime_v2", "cuEventElapsedTime");
        cuEventDestroy = (delegate* unmanaged<IntPtr, int>)t.Get("cuEventDestroy_v2");
        cuGetErrorName = (delegate* unmanaged<int, byte**, int>)t.Get("cuGetErrorName");
        cuGetErrorString = (delegate* unmanaged<int, byte**, int>)t.Get("cuGetErrorString");
    }

    /// <summary>Binds every export, or says which are missing.</summary>
    public static CuDriver? Bind(LibraryLookup library, out string? problem)
    {
        var table = new ExportTable(library.Handle);
        var driver = new CuDriver(library, table);
        problem = table.Missing.Count == 0 ? null
            : $"{library.Path} lacks {string.Join(", ", table.Missing)} (driver too old for this program?)";
        return problem is null ? driver : null;
    }

    /// <summary>Throws a <see cref="CudaException"/> naming the call, status and hint unless status is 0.</summary>
    public void Check(int status, string call)
    {
        if (status != 0) throw Error(status, call);
    }

    public CudaException Error(int status, string call, string? extraHint = null)
    {
        var (name, text) = Describe(status);
        string? hint = StatusText.DriverHint(status);
        if (extraHint is not null) hint = hint is null ? extraHint : $"{hint}; {extraHint}";
        return new CudaException("cuda", call, status, name, text, hint);
    }

    public (string Name, string Text) Describe(int status)
    {
        byte* name = null, text = null;
        string n = cuGetErrorName(status, &name) == 0 && name != null
            ? Marshal.PtrToStringUTF8((IntPtr)name) ?? $"CUDA_ERROR_{status}"
            : $"CUDA_ERROR_{status}";
        string t = cuGetErrorString(status, &text) == 0 && text != null
            ? Marshal.PtrToStringUTF8((IntPtr)text) ?? ""
            : "";
        return (n, t);
    }
}

/// <summary>Resolves exports of one or more library handles, remembering which are missing.</summary>
internal sealed class ExportTable(params IntPtr[] handles)
{
    public List<string> Missing { get; } = [];

    /// <summary>The first of <paramref name="names"/> exported by any handle, in order.</summary>
    public IntPtr Get(params string[] names)
    {
        foreach (var name in names)
        foreach (var h in handles)
        {
            if (h == IntPtr.Zero) continue;
            var p = LibraryLocator.Export(h, name);
            if (p != IntPtr.Zero) return p;
        }
        Missing.Add(string.Join("|", names));
        return IntPtr.Zero;
    }

    /// <summary>An export that may be absent (zero then, and not recorded as missing).</summary>
    public IntPtr Optional(string name)
    {
        foreach (var h in handles)
        {
            if (h == IntPtr.Zero) continue;
            var p = LibraryLocator.Export(h, name);
            if (p != IntPtr.Zero) return p;
        }
        return IntPtr.Zero;
    }
}
