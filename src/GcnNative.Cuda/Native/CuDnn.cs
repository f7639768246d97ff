using System.Runtime.InteropServices;

namespace GcnNative.Cuda.Native;

/// <summary>
/// One entry of the ranked lists returned by cudnnGetConvolution*Algorithm_v7
/// (cudnnConvolutionFwdAlgoPerf_t and its BwdData/BwdFilter twins, which share the layout):
/// { int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3]; }
/// = 4 + 4 + 4 (+4 padding) + 8 + 4 + 4 + 12 (+4 tail padding) = 48 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal struct ConvolutionAlgoPerf
{
    [FieldOffset(0)] public int Algo;
    [FieldOffset(4)] public int Status;
    [FieldOffset(8)] public float Time;
    [FieldOffset(16)] public nuint Memory;
    [FieldOffset(24)] public int Determinism;
    [FieldOffset(28)] public int MathType;
}

/// <summary>
/// cuDNN 9 (libcudnn.so.9), the legacy convolution API this backend uses. Handles and
/// descriptors are pointers; enums and cudnnStatus_t are int; size_t is nuint. Argument
/// order follows cudnn_ops.h / cudnn_cnn.h of cuDNN 9. Note: cudnnSetTensor4dDescriptor takes
/// (format, dataType) but cudnnSetFilter4dDescriptor takes (dataType, format).
/// </summary>
internal sealed unsafe class CuDnn
{
    public const int CUDNN_TENSOR_NCHW = 0;
    public const int CUDNN_DATA_FLOAT = 0;
    public const int CUDNN_CROSS_CORRELATION = 1;
    public const int CUDNN_DEFAULT_MATH = 0;
    public const int CUDNN_TENSOR_OP_MATH = 1;
    public const int CUDNN_FMA_MATH = 3;

    /// <summary>The sub-libraries libcudnn.so.9 opens by bare name, in dependency order.</summary>
    public static readonly string[] SubLibraries =
    [
        "libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
        "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
    ];

    public readonly LibraryLookup Library;
    public readonly IReadOnlyList<LibraryLookup> Preloaded;

    public readonly delegate* unmanaged<nuint> cudnnGetVersion;
    public readonly delegate* unmanaged<int, byte*> cudnnGetErrorString;
    /// <summary>void cudnnGetLastErrorString(char* message, size_t max); cuDNN 9 only, optional.</summary>
    public readonly delegate* unmanaged<byte*, nuint, void> cudnnGetLastErrorString;
    public readonly delegate* unmanaged<IntPtr*, int> cudnnCreate;
    public readonly delegate* unmanaged<IntPtr, int> cudnnDestroy;
    public readonly delegate* unmanaged<IntPtr, IntPtr, int> cudnnSetStream;
    public readonly delegate* unmanaged<IntPtr*, int> cudnnCreateTensorDescriptor;
    /// <summary>(desc, format, dataType, n, c, h, w)</summary>
    public readonly delegate* unmanaged<IntPtr, int, int, int, int, int, int, int> cudnnSetTensor4dDescriptor;
    public readonly delegate* unmanaged<IntPtr, int> cudnnDestroyTensorDescriptor;
    public readonly delegate* unmanaged<IntPtr*, int> cudnnCreateFilterDescriptor;
    /// <summary>(desc, dataType, format, k, c, h, w)</summary>
    public readonly delegate* unmanaged<IntPtr, int, int, int, int, int, int, int> cudnnSetFilter4dDescriptor;
    public readonly delegate* unmanaged<IntPtr, int> cudnnDestroyFilterDescriptor;
    public readonly delegate* unmanaged<IntPtr*, int> cudnnCreateConvolutionDescriptor;
    /// <summary>(desc, padH, padW, strideH, strideW, dilationH, dilationW, mode, computeType)</summary>
    public readonly delegate* unmanaged<IntPtr, int, int, int, int, int, int, int, int, int> cudnnSetConvolution2dDescriptor;
    public readonly delegate* unmanaged<IntPtr, int, int> cudnnSetConvolutionMathType;
    public readonly delegate* unmanaged<IntPtr, int> cudnnDestroyConvolutionDescriptor;
    /// <summary>(convDesc, xDesc, wDesc, int* n, int* c, int* h, int* w)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, int*, int*, int*, int*, int> cudnnGetConvolution2dForwardOutputDim;
    /// <summary>(handle, xDesc, wDesc, convDesc, yDesc, requested, int* returned, perf*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>
        cudnnGetConvolutionForwardAlgorithm_v7;
    /// <summary>(handle, wDesc, dyDesc, convDesc, dxDesc, requested, int* returned, perf*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>
        cudnnGetConvolutionBackwardDataAlgorithm_v7;
    /// <summary>(handle, xDesc, dyDesc, convDesc, dwDesc, requested, int* returned, perf*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>
        cudnnGetConvolutionBackwardFilterAlgorithm_v7;
    /// <summary>(handle, xDesc, wDesc, convDesc, yDesc, algo, size_t*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int> cudnnGetConvolutionForwardWorkspaceSize;
    /// <summary>(handle, wDesc, dyDesc, convDesc, dxDesc, algo, size_t*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int> cudnnGetConvolutionBackwardDataWorkspaceSize;
    /// <summary>(handle, xDesc, dyDesc, convDesc, dwDesc, algo, size_t*)</summary>
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int> cudnnGetConvolutionBackwardFilterWorkspaceSize;
    /// <summary>(handle, alpha*, xDesc, x, wDesc, w, convDesc, algo, workspace, wsBytes, beta*, yDesc, y)</summary>
    public readonly delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>
        cudnnConvolutionForward;
    /// <summary>(handle, alpha*, wDesc, w, dyDesc, dy, convDesc, algo, workspace, wsBytes, beta*, dxDesc, dx)</summary>
    public readonly delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>
        cudnnConvolutionBackwardData;
    /// <summary>(handle, alpha*, xDesc, x, dyDesc, dy, convDesc, algo, workspace, wsBytes, beta*, dwDesc, dw)</summary>
    public readonly delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>
        cudnnConvolutionBackwardFilter;

    private CuDnn(LibraryLookup library, IReadOnlyList<LibraryLookup> preloaded, ExportTable t)
    {
        Library = library;
        Preloaded = preloaded;
        cudnnGetVersion = (delegate* unmanaged<nuint>)t.Get("cudnnGetVersion");
        cudnnGetErrorString = (delegate* unmanaged<int, byte*>)t.Get("cudnnGetErrorString");
        cudnnGetLastErrorString = (delegate* unmanaged<byte*, nuint, void>)t.Optional("cudnnGetLastErrorString");
        cudnnCreate = (delegate* unmanaged<IntPtr*, int>)t.Get("cudnnCreate");
        cudnnDestroy = (delegate* unmanaged<IntPtr, int>)t.Get("cudnnDestroy");
        cudnnSetStream = (delegate* unmanaged<IntPtr, IntPtr, int>)t.Get("cudnnSetStream");
        cudnnCreateTensorDescriptor = (delegate* unmanaged<IntPtr*, int>)t.Get("cudnnCreateTensorDescriptor");
        cudnnSetTensor4dDescriptor = (delegate* unmanaged<IntPtr, int, int, int, int, int, int, int>)t.Get("cudnnSetTensor4dDescriptor");
        cudnnDestroyTensorDescriptor = (delegate* unmanaged<IntPtr, int>)t.Get("cudnnDestroyTensorDescriptor");
        cudnnCreateFilterDescriptor = (delegate* unmanaged<IntPtr*, int>)t.Get("cudnnCreateFilterDescriptor");
        cudnnSetFilter4dDescriptor = (delegate* unmanaged<IntPtr, int, int, int, int, int, int, int>)t.Get("cudnnSetFilter4dDescriptor");
        cudnnDestroyFilterDescriptor = (delegate* unmanaged<IntPtr, int>)t.Get("cudnnDestroyFilterDescriptor");
        cudnnCreateConvolutionDescriptor = (delegate* unmanaged<IntPtr*, int>)t.Get("cudnnCreateConvolutionDescriptor");
        cudnnSetConvolution2dDescriptor = (delegate* unmanaged<IntPtr, int, int, int, int, int, int, int, int, int>)
            t.Get("cudnnSetConvolution2dDescriptor");
        cudnnSetConvolutionMathType = (delegate* unmanaged<IntPtr, int, int>)t.Get("cudnnSetConvolutionMathType");
        cudnnDestroyConvolutionDescriptor = (delegate* unmanaged<IntPtr, int>)t.Get("cudnnDestroyConvolutionDescriptor");
        cudnnGetConvolution2dForwardOutputDim = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, int*, int*, int*, int*, int>)
            t.Get("cudnnGetConvolution2dForwardOutputDim");
        cudnnGetConvolutionForwardAlgorithm_v7 =
            (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>)
            t.Get("cudnnGetConvolutionForwardAlgorithm_v7");
        cudnnGetConvolutionBackwardDataAlgorithm_v7 =
            (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>)
            t.Get("cudnnGetConvolutionBackwardDataAlgorithm_v7");
        cudnnGetConvolutionBackwardFilterAlgorithm_v7 =
            (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, int*, ConvolutionAlgoPerf*, int>)
            t.Get("cudnnGetConvolutionBackwardFilterAlgorithm_v7");
        cudnnGetConvolutionForwardWorkspaceSize = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int>)
            t.Get("cudnnGetConvolutionForwardWorkspaceSize");
        cudnnGetConvolutionBackwardDataWorkspaceSize = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int>)
            t.Get("cudnnGetConvolutionBackwardDataWorkspaceSize");
        cudnnGetConvolutionBackwardFilterWorkspaceSize = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int, nuint*, int>)
            t.Get("cudnnGetConvolutionBackwardFilterWorkspaceSize");
        cudnnConvolutionForward =
            (delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>)
            t.Get("cudnnConvolutionForward");
        cudnnConvolutionBackwardData =
            (delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>)
            t.Get("cudnnConvolutionBackwardData");
        cudnnConvolutionBackwardFilter =
            (delegate* unmanaged<IntPtr, float*, IntPtr, ulong, IntPtr, ulong, IntPtr, int, ulong, nuint, float*, IntPtr, ulong, int>)
            t.Get("cudnnConvolutionBackwardFilter");
    }

    /// <summary>
    /// Binds the exports. They are looked up in the shim first, then in the pre-loaded
    /// sub-libraries (libcudnn_cnn.so.9 holds the legacy convolution API).
    /// </summary>
    public static CuDnn? Bind(LibraryLookup library, IReadOnlyList<LibraryLookup> preloaded, out string? problem)
    {
        var handles = new List<IntPtr> { library.Handle };
        handles.AddRange(preloaded.Where(p => p.Loaded).Select(p => p.Handle));
        var table = new ExportTable(handles.ToArray());
        var dnn = new CuDnn(library, preloaded, table);
        problem = table.Missing.Count == 0 ? null : $"{library.Path} lacks {string.Join(", ", table.Missing)}";
        return problem is null ? dnn : null;
    }

    /// <summary>"9.10.2" from cudnnGetVersion (major * 10000 + minor * 100 + patch in cuDNN 9).</summary>
    public string Version()
    {
        ulong v = cudnnGetVersion();
        return v >= 90000 ? $"{v / 10000}.{v / 100 % 100}.{v % 100}" : $"{v / 1000}.{v / 100 % 10}.{v % 100}";
    }

    public void Check(int status, string call)
    {
        if (status == 0) return;
        string? text = null;
        byte* s = cudnnGetErrorString(status);
        if (s != null) text = Marshal.PtrToStringUTF8((IntPtr)s);
        if (cudnnGetLastErrorString != null)
        {
            byte* buffer = stackalloc byte[1024];
            buffer[0] = 0;
            cudnnGetLastErrorString(buffer, 1024);
            var last = Marshal.PtrToStringUTF8((IntPtr)buffer);
            if (!string.IsNullOrWhiteSpace(last)) text = string.IsNullOrEmpty(text) ? last : $"{text} [{last.Trim()}]";
        }
        throw new CudaException("cudnn", call, status, StatusText.DnnName(status), text, StatusText.DnnHint(status));
    }
}
