using System.Runtime.InteropServices;
using System.Text;
using GcnNative.Cuda.Native;

namespace GcnNative.Cuda;

/// <summary>Settings of a <see cref="CudaBackend"/>.</summary>
public sealed record CudaBackendOptions
{
    /// <summary>
    /// Allow TF32 tensor-core math in cuBLAS (CUBLAS_TF32_TENSOR_OP_MATH) and cuDNN
    /// (CUDNN_TENSOR_OP_MATH): faster, about 1e-3 relative error. Off by default, which keeps
    /// cuBLAS in its default FP32 math and cuDNN convolutions in CUDNN_FMA_MATH.
    /// </summary>
    public bool Tf32 { get; init; }

    /// <summary>Device ordinal.</summary>
    public int Device { get; init; }

    /// <summary>The largest cuDNN workspace an algorithm may ask for (bytes).</summary>
    public long ConvolutionWorkspaceLimit { get; init; } = 512L << 20;

    /// <summary>Workspace handed to cuBLAS (32 MiB is what NVIDIA recommends for Hopper).</summary>
    public long BlasWorkspaceBytes { get; init; } = 32L << 20;

    /// <summary>Where to look for the libraries (null: the default search).</summary>
    public CudaSearchOptions? Search { get; init; }
}

/// <summary>
/// The CUDA backend: tensors in device memory, GEMM through cuBLAS, convolutions through
/// cuDNN's legacy API, everything else in hand-written PTX (kernels/*.ptx) loaded by the
/// driver. All work is queued on one stream; the host waits only in <see cref="Download"/>
/// and <see cref="Synchronize"/>. Memory is allocated by <see cref="Allocate"/> (when a graph
/// is built) and, once per new convolution shape, by the cuDNN algorithm choice (call
/// <see cref="PrepareConvolution"/> at build time to do that early); an operation allocates
/// nothing. Not thread-safe: one thread drives a backend at a time (any thread may; the
/// context is made current on each call).
/// </summary>
public sealed unsafe class CudaBackend : IBackend
{
    private const uint BlockSize = 256;

    [ThreadStatic] private static IntPtr t_currentContext;

    private readonly CudaLibraries _libs;
    private readonly CuDriver _cu;
    private readonly CuBlas _blas;
    private readonly CuDnn _dnn;
    private readonly CudaBackendOptions _options;
    private readonly int _device;
    private IntPtr _context;
    private IntPtr _stream;
    private IntPtr _blasHandle;
    private IntPtr _dnnHandle;
    private KernelSet? _kernels;
    private DeviceBuffer? _blasWorkspace;
    private DeviceBuffer? _convWorkspace;
    private readonly Dictionary<ConvGeometry, ConvPlan> _plans = [];
    private readonly HashSet<DeviceBuffer> _live = [];
    private bool _disposed;

    /// <summary>Creates the backend on a device, or throws a <see cref="CudaException"/> saying why not.</summary>
    public CudaBackend(CudaBackendOptions? options = null)
    {
        _options = options ?? new CudaBackendOptions();
        _libs = _options.Search is null || ReferenceEquals(_options.Search, CudaSearchOptions.Default)
            ? CudaLibraries.Default
            : CudaLibraries.Load(_options.Search);
        _cu = _libs.Driver ?? throw new CudaException($"cuda: unavailable: {_libs.DriverUnavailableReason}");
        _blas = _libs.Blas ?? throw new CudaException($"cublas: unavailable: {_libs.BlasProblem}");
        _dnn = _libs.Dnn ?? throw new CudaException($"cudnn: unavailable: {_libs.DnnProblem}");
        _device = _options.Device;
        try
        {
            Initialise();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a backend, or returns false with one line saying why CUDA cannot be used here
    /// (no driver, no device, a missing library, an old GPU...).
    /// </summary>
    public static bool TryCreate(bool tf32, out CudaBackend? backend, out string whyNot)
    {
        try
        {
            backend = new CudaBackend(new CudaBackendOptions { Tf32 = tf32 });
            whyNot = "";
            return true;
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException)
        {
            backend = null;
            whyNot = OneLineReason(e.Message);
            return false;
        }
    }

    /// <summary>A failure message as one line without a leading "cuda: unavailable: ".</summary>
    internal static string OneLineReason(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        const string prefix = "cuda: unavailable: ";
        return line.StartsWith(prefix, StringComparison.Ordinal) ? line[prefix.Length..] : line;
    }

    public string Name => "cuda";

    public string Description { get; private set; } = "cuda";

    /// <summary>The device's name, e.g. "NVIDIA H200".</summary>
    public string DeviceName { get; private set; } = "";

    /// <summary>Compute capability as (major, minor).</summary>
    public (int Major, int Minor) ComputeCapability { get; private set; }

    public bool Tf32 => _options.Tf32;

    /// <summary>Bytes of device memory this backend holds (tensors and workspaces).</summary>
    public long BytesAllocated { get; private set; }

    /// <summary>Kernel files or entries that did not load; their operations throw when used.</summary>
    public IReadOnlyList<string> KernelProblems => _kernels?.Problems ?? [];

    /// <summary>The algorithm choices made so far, one line per convolution shape.</summary>
    public IEnumerable<string> ConvolutionPlans => _plans.Select(p => p.Value.Summary);

    private void Initialise()
    {
        _cu.Check(_cu.cuInit(0), "cuInit");
        int count;
        _cu.Check(_cu.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (_device < 0 || _device >= count)
            throw new CudaException($"cuda: device {_device} requested, {count} present");
        int dev;
        _cu.Check(_cu.cuDeviceGet(&dev, _device), "cuDeviceGet");
        int major, minor;
        _cu.Check(_cu.cuDeviceGetAttribute(&major, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
        _cu.Check(_cu.cuDeviceGetAttribute(&minor, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
        ComputeCapability = (major, minor);
        DeviceName = DeviceNameOf(_cu, dev);
        nuint total;
        _cu.Check(_cu.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem_v2");
        if (major < 8)
            throw new CudaException(
                $"cuda: {DeviceName} has compute capability {major}.{minor}; the kernels target sm_80 (Ampere) or newer");

        IntPtr ctx;
        _cu.Check(_cu.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
        _context = ctx;
        EnsureContext();
        IntPtr stream;
        _cu.Check(_cu.cuStreamCreate(&stream, 0), "cuStreamCreate");
        _stream = stream;

        IntPtr blas;
        _blas.Check(_blas.cublasCreate(&blas), "cublasCreate_v2");
        _blasHandle = blas;
        _blas.Check(_blas.cublasSetStream(_blasHandle, _stream), "cublasSetStream_v2");
        _blas.Check(_blas.cublasSetMathMode(_blasHandle, Tf32 ? CuBlas.CUBLAS_TF32_TENSOR_OP_MATH : CuBlas.CUBLAS_DEFAULT_MATH),
            "cublasSetMathMode");
        if (_blas.cublasSetWorkspace != null && _options.BlasWorkspaceBytes > 0)
        {
            // a fixed workspace, so that cuBLAS never allocates while training
            _blasWorkspace = AllocateBuffer(_options.BlasWorkspaceBytes, "cuBLAS workspace");
            _blas.Check(_blas.cublasSetWorkspace(_blasHandle, _blasWorkspace.Pointer, (nuint)_blasWorkspace.Bytes),
                "cublasSetWorkspace_v2");
        }

        IntPtr dnn;
        _dnn.Check(_dnn.cudnnCreate(&dnn), "cudnnCreate");
        _dnnHandle = dnn;
        _dnn.Check(_dnn.cudnnSetStream(_dnnHandle, _stream), "cudnnSetStream");

        _kernels = new KernelSet(_cu);
        Description = $"{DeviceName} (sm_{major}{minor}, {total / (double)(1L << 30):F1} GiB), "
                      + $"cuBLAS {_blas.Version()}, cuDNN {_dnn.Version()}, TF32 {(Tf32 ? "on" : "off")}";
    }

    internal static string DeviceNameOf(CuDriver cu, int dev)
    {
        byte* name = stackalloc byte[256];
        cu.Check(cu.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((IntPtr)name) ?? "?";
    }

    private void EnsureContext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (t_currentContext == _context) return;
        _cu.Check(_cu.cuCtxSetCurrent(_context), "cuCtxSetCurrent");
        t_currentContext = _context;
    }

    // ---- memory -------------------------------------------------------------------

    /// <summary>Device memory behind a CUDA tensor.</summary>
    internal sealed class DeviceBuffer(ulong pointer, long bytes, string what)
    {
        public ulong Pointer { get; set; } = pointer;
        public long Bytes { get; } = bytes;
        public string What { get; } = what;
    }

    private DeviceBuffer AllocateBuffer(long bytes, string what)
    {
        EnsureContext();
        if (bytes == 0) return new DeviceBuffer(0, 0, what);
        ulong pointer;
        int status = _cu.cuMemAlloc(&pointer, (nuint)bytes);
        if (status == CuDriver.CUDA_ERROR_OUT_OF_MEMORY)
        {
            nuint free = 0, total = 0;
            _cu.cuMemGetInfo(&free, &total);
            throw _cu.Error(status, "cuMemAlloc_v2",
                $"allocating {what}: {Mib(bytes)} requested, {Mib((long)free)} free of {Mib((long)total)}; "
                + $"this backend already holds {Mib(BytesAllocated)} in {_live.Count} buffers");
        }
        _cu.Check(status, $"cuMemAlloc_v2({what}, {bytes} B)");
        var buffer = new DeviceBuffer(pointer, bytes, what);
        _live.Add(buffer);
        BytesAllocated += bytes;
        return buffer;
    }

    private void FreeBuffer(DeviceBuffer buffer)
    {
        if (buffer.Pointer == 0 || !_live.Remove(buffer)) return;
        _cu.cuMemFree(buffer.Pointer);
        buffer.Pointer = 0;
        BytesAllocated -= buffer.Bytes;
    }

    private static string Mib(long bytes) => $"{bytes / (double)(1L << 20):F1} MiB";

    public Tensor Allocate(params int[] shape)
    {
        int n = Tensor.CountOf(shape);
        var buffer = AllocateBuffer(4L * n, $"tensor {Tensor.ShapeString(shape)}");
        if (n > 0) _cu.Check(_cu.cuMemsetD32Async(buffer.Pointer, 0, (nuint)n, _stream), "cuMemsetD32Async");
        return new Tensor(this, (int[])shape.Clone(), buffer);
    }

    public void Free(Tensor tensor)
    {
        if (_disposed) return;
        EnsureContext();
        var buffer = BufferOf(tensor);
        if (buffer.Pointer == 0) return;
        // queued work may still read or write it (frees are rare: graphs are torn down whole)
        _cu.Check(_cu.cuStreamSynchronize(_stream), "cuStreamSynchronize (before a free)");
        FreeBuffer(buffer);
    }

    private DeviceBuffer BufferOf(Tensor t)
    {
        if (t.Storage is not DeviceBuffer b || !ReferenceEquals(t.Backend, this))
            throw new ArgumentException($"{t} does not belong to this CUDA backend");
        return b;
    }

    private ulong Ptr(Tensor t)
    {
        var b = BufferOf(t);
        if (b.Pointer == 0 && t.Length > 0) throw new ObjectDisposedException(t.ToString());
        return b.Pointer;
    }

    private ulong Ptr(Tensor t, long elementOffset) => Ptr(t) + (ulong)(elementOffset * 4);

    public void Upload(Tensor dst, ReadOnlySpan<float> src, int offset = 0)
    {
        EnsureContext();
        CheckRange(dst, offset, src.Length, "Upload");
        if (src.IsEmpty) return;
        // from pageable memory the driver stages the data before returning, so src may be
        // reused at once and the host does not wait for the device
        fixed (float* p = src)
            _cu.Check(_cu.cuMemcpyHtoDAsync(Ptr(dst, offset), p, (nuint)(4L * src.Length), _stream), "cuMemcpyHtoDAsync_v2");
    }

    public void Download(Tensor src, Span<float> dst, int offset = 0)
    {
        EnsureContext();
        CheckRange(src, offset, dst.Length, "Download");
        if (dst.IsEmpty) return;
        fixed (float* p = dst)
        {
            _cu.Check(_cu.cuMemcpyDtoHAsync(p, Ptr(src, offset), (nuint)(4L * dst.Length), _stream), "cuMemcpyDtoHAsync_v2");
            _cu.Check(_cu.cuStreamSynchronize(_stream), "cuStreamSynchronize (after a download)");
        }
    }

    public void Fill(Tensor tensor, float value)
    {
        EnsureContext();
        if (tensor.Length == 0) return;
        // a 32-bit memset writes any float's bit pattern
        _cu.Check(_cu.cuMemsetD32Async(Ptr(tensor), BitConverter.SingleToUInt32Bits(value), (nuint)tensor.Length, _stream),
            "cuMemsetD32Async");
    }

    public void Copy(Tensor src, Tensor dst)
    {
        EnsureContext();
        if (src.Length != dst.Length)
            throw new ArgumentException($"Copy: {src} has {src.Length} elements, {dst} has {dst.Length}");
        if (src.Length == 0) return;
        _cu.Check(_cu.cuMemcpyDtoDAsync(Ptr(dst), Ptr(src), (nuint)(4L * src.Length), _stream), "cuMemcpyDtoDAsync_v2");
    }

    public void Synchronize()
    {
        EnsureContext();
        _cu.Check(_cu.cuStreamSynchronize(_stream), "cuStreamSynchronize");
    }

    // ---- dense algebra ------------------------------------------------------------

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c)
    {
        EnsureContext();
        CheckLength(a, (long)m * k, "Gemm A");
        CheckLength(b, (long)k * n, "Gemm B");
        CheckLength(c, (long)m * n, "Gemm C");
        if (m == 0 || n == 0) return;
        var call = ColumnMajorGemm.For(transA, transB, m, n, k);
        _blas.Check(_blas.cublasSgemm(_blasHandle, call.OpFirst, call.OpSecond, call.M, call.N, call.K, &alpha,
                Ptr(b), call.LdFirst, Ptr(a), call.LdSecond, &beta, Ptr(c), call.Ldc),
            $"cublasSgemm_v2(m {m}, n {n}, k {k}, {(transA ? "T" : "N")}{(transB ? "T" : "N")})");
    }

    public void AddBias(Tensor y, Tensor bias, int outer, int channels, int inner)
    {
        EnsureContext();
        long n = (long)outer * channels * inner;
        CheckLength(y, n, "AddBias y");
        CheckLength(bias, channels, "AddBias bias");
        ulong py = Ptr(y), pb = Ptr(bias);
        uint c = (uint)channels, i = (uint)inner, count = (uint)n;
        void** args = stackalloc void*[] { &py, &pb, &c, &i, &count };
        Launch(KernelId.AddBias, Blocks(n), BlockSize, args, 5);
    }

    public void BiasGradient(Tensor dy, Tensor dBias, int outer, int channels, int inner, bool accumulate)
    {
        EnsureContext();
        CheckLength(dy, (long)outer * channels * inner, "BiasGradient dy");
        CheckLength(dBias, channels, "BiasGradient dBias");
        ulong pdy = Ptr(dy), pdb = Ptr(dBias);
        uint o = (uint)outer, c = (uint)channels, i = (uint)inner, acc = accumulate ? 1u : 0u;
        void** args = stackalloc void*[] { &pdy, &pdb, &o, &c, &i, &acc };
        // one 256-thread block per channel (the kernel's reduction tree assumes 256)
        Launch(KernelId.BiasGradient, (uint)channels, BlockSize, args, 6);
    }

    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        EnsureContext();
        CheckLength(x, y.Length, "Axpy x");
        ulong px = Ptr(x), py = Ptr(y);
        uint n = (uint)y.Length;
        void** args = stackalloc void*[] { &px, &py, &alpha, &n };
        Launch(KernelId.Axpy, Blocks(n), BlockSize, args, 4);
    }

    public void CopyColumns(Tensor src, int srcStride, int srcOffset, Tensor dst, int dstStride, int dstOffset,
        int rows, int cols, bool accumulate)
    {
        EnsureContext();
        if (rows == 0 || cols == 0) return;
        CheckLength(src, (long)(rows - 1) * srcStride + srcOffset + cols, "CopyColumns src");
        CheckLength(dst, (long)(rows - 1) * dstStride + dstOffset + cols, "CopyColumns dst");
        ulong ps = Ptr(src), pd = Ptr(dst);
        uint ss = (uint)srcStride, so = (uint)srcOffset, ds = (uint)dstStride, dO = (uint)dstOffset;
        uint c = (uint)cols, acc = accumulate ? 1u : 0u, n = (uint)((long)rows * cols);
        void** args = stackalloc void*[] { &ps, &pd, &ss, &so, &ds, &dO, &c, &acc, &n };
        Launch(KernelId.CopyColumns, Blocks(n), BlockSize, args, 9);
    }

    // ---- convolution --------------------------------------------------------------

    /// <summary>
    /// The cuDNN descriptors of one convolution shape and the algorithms chosen for it
    /// (once, by cudnnGet*Algorithm_v7: the first entry with status 0 whose workspace fits
    /// the limit and, with TF32 off, whose math type is FMA).
    /// </summary>
    private sealed class ConvPlan
    {
        public IntPtr X, Y, W, Conv;
        public int ForwardAlgo, BackwardDataAlgo, BackwardFilterAlgo;
        public nuint ForwardBytes, BackwardDataBytes, BackwardFilterBytes;
        public string Summary = "";
    }

    /// <summary>
    /// Creates the descriptors of a convolution shape, chooses its three algorithms and grows
    /// the shared workspace if needed. Done automatically on first use; call it when a graph
    /// is built so that no training step allocates.
    /// </summary>
    public void PrepareConvolution(in ConvGeometry g)
    {
        EnsureContext();
        _ = Plan(g);
    }

    private ConvPlan Plan(in ConvGeometry g)
    {
        if (_plans.TryGetValue(g, out var plan)) return plan;
        plan = new ConvPlan();
        try
        {
            BuildPlan(g, plan);
        }
        catch
        {
            DestroyPlan(plan);
            throw;
        }
        _plans[g] = plan;
        return plan;
    }

    private void BuildPlan(in ConvGeometry g, ConvPlan plan)
    {
        string shape = $"x [{g.Batch},{g.InChannels},{g.InHeight},{g.InWidth}] w [{g.OutChannels},{g.InChannels},"
                       + $"{g.KernelH},{g.KernelW}] s{g.StrideH} p{g.PadH}";
        IntPtr d;
        _dnn.Check(_dnn.cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
        plan.X = d;
        _dnn.Check(_dnn.cudnnSetTensor4dDescriptor(plan.X, CuDnn.CUDNN_TENSOR_NCHW, CuDnn.CUDNN_DATA_FLOAT,
            g.Batch, g.InChannels, g.InHeight, g.InWidth), $"cudnnSetTensor4dDescriptor(x of {shape})");
        _dnn.Check(_dnn.cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
        plan.Y = d;
        _dnn.Check(_dnn.cudnnSetTensor4dDescriptor(plan.Y, CuDnn.CUDNN_TENSOR_NCHW, CuDnn.CUDNN_DATA_FLOAT,
            g.Batch, g.OutChannels, g.OutHeight, g.OutWidth), $"cudnnSetTensor4dDescriptor(y of {shape})");
        _dnn.Check(_dnn.cudnnCreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor");
        plan.W = d;
        _dnn.Check(_dnn.cudnnSetFilter4dDescriptor(plan.W, CuDnn.CUDNN_DATA_FLOAT, CuDnn.CUDNN_TENSOR_NCHW,
            g.OutChannels, g.InChannels, g.KernelH, g.KernelW), $"cudnnSetFilter4dDescriptor({shape})");
        _dnn.Check(_dnn.cudnnCreateConvolutionDescriptor(&d), "cudnnCreateConvolutionDescriptor");
        plan.Conv = d;
        _dnn.Check(_dnn.cudnnSetConvolution2dDescriptor(plan.Conv, g.PadH, g.PadW, g.StrideH, g.StrideW, 1, 1,
            CuDnn.CUDNN_CROSS_CORRELATION, CuDnn.CUDNN_DATA_FLOAT), $"cudnnSetConvolution2dDescriptor({shape})");
        _dnn.Check(_dnn.cudnnSetConvolutionMathType(plan.Conv, Tf32 ? CuDnn.CUDNN_TENSOR_OP_MATH : CuDnn.CUDNN_FMA_MATH),
            "cudnnSetConvolutionMathType");

        // the geometry must be the one cuDNN derives (our floor rule = theirs)
        int on, oc, oh, ow;
        _dnn.Check(_dnn.cudnnGetConvolution2dForwardOutputDim(plan.Conv, plan.X, plan.W, &on, &oc, &oh, &ow),
            "cudnnGetConvolution2dForwardOutputDim");
        if (on != g.Batch || oc != g.OutChannels || oh != g.OutHeight || ow != g.OutWidth)
            throw new CudaException($"cudnn: output of {shape} is [{on},{oc},{oh},{ow}], the geometry says "
                                    + $"[{g.Batch},{g.OutChannels},{g.OutHeight},{g.OutWidth}]");

        const int requested = 16;
        var perf = stackalloc ConvolutionAlgoPerf[requested];
        int returned;
        long limit = _options.ConvolutionWorkspaceLimit;
        var notes = new StringBuilder();

        _dnn.Check(_dnn.cudnnGetConvolutionForwardAlgorithm_v7(_dnnHandle, plan.X, plan.W, plan.Conv, plan.Y,
            requested, &returned, perf), $"cudnnGetConvolutionForwardAlgorithm_v7({shape})");
        plan.ForwardAlgo = Choose(perf, returned, limit, "forward", shape, notes);
        nuint bytes;
        _dnn.Check(_dnn.cudnnGetConvolutionForwardWorkspaceSize(_dnnHandle, plan.X, plan.W, plan.Conv, plan.Y,
            plan.ForwardAlgo, &bytes), "cudnnGetConvolutionForwardWorkspaceSize");
        plan.ForwardBytes = bytes;

        _dnn.Check(_dnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(_dnnHandle, plan.W, plan.Y, plan.Conv, plan.X,
            requested, &returned, perf), $"cudnnGetConvolutionBackwardDataAlgorithm_v7({shape})");
        plan.BackwardDataAlgo = Choose(perf, returned, limit, "backward-data", shape, notes);
        _dnn.Check(_dnn.cudnnGetConvolutionBackwardDataWorkspaceSize(_dnnHandle, plan.W, plan.Y, plan.Conv, plan.X,
            plan.BackwardDataAlgo, &bytes), "cudnnGetConvolutionBackwardDataWorkspaceSize");
        plan.BackwardDataBytes = bytes;

        _dnn.Check(_dnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(_dnnHandle, plan.X, plan.Y, plan.Conv, plan.W,
            requested, &returned, perf), $"cudnnGetConvolutionBackwardFilterAlgorithm_v7({shape})");
        plan.BackwardFilterAlgo = Choose(perf, returned, limit, "backward-filter", shape, notes);
        _dnn.Check(_dnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(_dnnHandle, plan.X, plan.Y, plan.Conv, plan.W,
            plan.BackwardFilterAlgo, &bytes), "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        plan.BackwardFilterBytes = bytes;

        long need = (long)Math.Max((ulong)plan.ForwardBytes, Math.Max((ulong)plan.BackwardDataBytes, (ulong)plan.BackwardFilterBytes));
        if (need > (_convWorkspace?.Bytes ?? 0))
        {
            // the old workspace may still be in use by queued work
            _cu.Check(_cu.cuStreamSynchronize(_stream), "cuStreamSynchronize (before growing the cuDNN workspace)");
            if (_convWorkspace is not null) FreeBuffer(_convWorkspace);
            _convWorkspace = null;
            _convWorkspace = AllocateBuffer(need, "cuDNN workspace");
        }
        plan.Summary = $"{shape}: fwd algo {plan.ForwardAlgo} ({plan.ForwardBytes} B), bwd-data algo "
                       + $"{plan.BackwardDataAlgo} ({plan.BackwardDataBytes} B), bwd-filter algo {plan.BackwardFilterAlgo} "
                       + $"({plan.BackwardFilterBytes} B){notes}";
    }

    private int Choose(ConvolutionAlgoPerf* perf, int count, long limit, string pass, string shape, StringBuilder notes)
    {
        // the lists are ranked and include unsupported entries (status != 0)
        for (int i = 0; i < count; i++)
            if (perf[i].Status == 0 && (long)perf[i].Memory <= limit && (Tf32 || perf[i].MathType == CuDnn.CUDNN_FMA_MATH))
                return perf[i].Algo;
        if (!Tf32)
        {
            for (int i = 0; i < count; i++)
            {
                if (perf[i].Status == 0 && (long)perf[i].Memory <= limit)
                {
                    notes.Append($"; {pass}: no FMA-math entry, using algo {perf[i].Algo} with math type {perf[i].MathType}");
                    return perf[i].Algo;
                }
            }
        }
        var entries = new StringBuilder();
        for (int i = 0; i < count; i++)
            entries.Append($" [algo {perf[i].Algo} status {perf[i].Status} memory {perf[i].Memory} math {perf[i].MathType}]");
        throw new CudaException($"cudnn: no usable {pass} algorithm for {shape} within a {Mib(limit)} workspace:{entries}");
    }

    private void DestroyPlan(ConvPlan plan)
    {
        if (plan.X != IntPtr.Zero) _dnn.cudnnDestroyTensorDescriptor(plan.X);
        if (plan.Y != IntPtr.Zero) _dnn.cudnnDestroyTensorDescriptor(plan.Y);
        if (plan.W != IntPtr.Zero) _dnn.cudnnDestroyFilterDescriptor(plan.W);
        if (plan.Conv != IntPtr.Zero) _dnn.cudnnDestroyConvolutionDescriptor(plan.Conv);
        plan.X = plan.Y = plan.W = plan.Conv = IntPtr.Zero;
    }

    private ulong Workspace => _convWorkspace?.Pointer ?? 0;
    private nuint WorkspaceBytes => (nuint)(_convWorkspace?.Bytes ?? 0);

    public void ConvForward(in ConvGeometry g, Tensor x, Tensor w, Tensor y)
    {
        EnsureContext();
        CheckConv(g, x, w, y);
        var plan = Plan(g);
        float alpha = 1, beta = 0;
        _dnn.Check(_dnn.cudnnConvolutionForward(_dnnHandle, &alpha, plan.X, Ptr(x), plan.W, Ptr(w), plan.Conv,
            plan.ForwardAlgo, Workspace, WorkspaceBytes, &beta, plan.Y, Ptr(y)), "cudnnConvolutionForward");
    }

    public void ConvBackwardData(in ConvGeometry g, Tensor dy, Tensor w, Tensor dx)
    {
        EnsureContext();
        CheckConv(g, dx, w, dy);
        var plan = Plan(g);
        float alpha = 1, beta = 0;
        _dnn.Check(_dnn.cudnnConvolutionBackwardData(_dnnHandle, &alpha, plan.W, Ptr(w), plan.Y, Ptr(dy), plan.Conv,
            plan.BackwardDataAlgo, Workspace, WorkspaceBytes, &beta, plan.X, Ptr(dx)), "cudnnConvolutionBackwardData");
    }

    public void ConvBackwardFilter(in ConvGeometry g, Tensor x, Tensor dy, Tensor dw, bool accumulate)
    {
        EnsureContext();
        CheckConv(g, x, dw, dy);
        var plan = Plan(g);
        // beta = 1 adds into dw
        float alpha = 1, beta = accumulate ? 1 : 0;
        _dnn.Check(_dnn.cudnnConvolutionBackwardFilter(_dnnHandle, &alpha, plan.X, Ptr(x), plan.Y, Ptr(dy), plan.Conv,
            plan.BackwardFilterAlgo, Workspace, WorkspaceBytes, &beta, plan.W, Ptr(dw)), "cudnnConvolutionBackwardFilter");
    }

    // ---- elementwise and pooling --------------------------------------------------

    public void LeakyReluForward(Tensor x, Tensor y, float slope)
    {
        EnsureContext();
        CheckLength(y, x.Length, "LeakyReluForward y");
        ulong px = Ptr(x), py = Ptr(y);
        uint n = (uint)x.Length;
        void** args = stackalloc void*[] { &px, &py, &slope, &n };
        Launch(KernelId.LeakyReluForward, Blocks(n), BlockSize, args, 4);
    }

    public void LeakyReluBackward(Tensor x, Tensor dy, Tensor dx, float slope)
    {
        EnsureContext();
        CheckLength(dy, x.Length, "LeakyReluBackward dy");
        CheckLength(dx, x.Length, "LeakyReluBackward dx");
        ulong px = Ptr(x), pdy = Ptr(dy), pdx = Ptr(dx);
        uint n = (uint)x.Length;
        void** args = stackalloc void*[] { &px, &pdy, &pdx, &slope, &n };
        Launch(KernelId.LeakyReluBackward, Blocks(n), BlockSize, args, 5);
    }

    public void MaxPoolForward(in PoolGeometry g, Tensor x, Tensor y)
    {
        EnsureContext();
        CheckLength(x, Tensor.CountOf(g.XShape), "MaxPoolForward x");
        CheckLength(y, Tensor.CountOf(g.YShape), "MaxPoolForward y");
        ulong px = Ptr(x), py = Ptr(y);
        uint ih = (uint)g.InHeight, iw = (uint)g.InWidth, oh = (uint)g.OutHeight, ow = (uint)g.OutWidth;
        uint k = (uint)g.Kernel, s = (uint)g.Stride, n = (uint)Tensor.CountOf(g.YShape);
        void** args = stackalloc void*[] { &px, &py, &ih, &iw, &oh, &ow, &k, &s, &n };
        Launch(KernelId.MaxPoolForward, Blocks(n), BlockSize, args, 9);
    }

    public void MaxPoolBackward(in PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        EnsureContext();
        CheckLength(x, Tensor.CountOf(g.XShape), "MaxPoolBackward x");
        CheckLength(dx, Tensor.CountOf(g.XShape), "MaxPoolBackward dx");
        CheckLength(y, Tensor.CountOf(g.YShape), "MaxPoolBackward y");
        CheckLength(dy, Tensor.CountOf(g.YShape), "MaxPoolBackward dy");
        ulong px = Ptr(x), py = Ptr(y), pdy = Ptr(dy), pdx = Ptr(dx);
        uint ih = (uint)g.InHeight, iw = (uint)g.InWidth, oh = (uint)g.OutHeight, ow = (uint)g.OutWidth;
        uint k = (uint)g.Kernel, s = (uint)g.Stride, n = (uint)Tensor.CountOf(g.XShape);
        void** args = stackalloc void*[] { &px, &py, &pdy, &pdx, &ih, &iw, &oh, &ow, &k, &s, &n };
        Launch(KernelId.MaxPoolBackward, Blocks(n), BlockSize, args, 11);
    }

    public void LrnForward(in LrnParams p, Tensor x, Tensor y, Tensor scale)
    {
        EnsureContext();
        var (channels, plane) = LrnShape(x, "LrnForward");
        CheckLength(y, x.Length, "LrnForward y");
        CheckLength(scale, x.Length, "LrnForward scale");
        ulong px = Ptr(x), py = Ptr(y), ps = Ptr(scale);
        uint c = (uint)channels, pl = (uint)plane, before = (uint)(p.Size / 2), after = (uint)((p.Size - 1) / 2);
        // float division, as the CPU reference computes alpha / size
        float alphaOverSize = p.Alpha / p.Size, beta = p.Beta, k = p.K;
        uint n = (uint)x.Length;
        void** args = stackalloc void*[] { &px, &py, &ps, &c, &pl, &before, &after, &alphaOverSize, &beta, &k, &n };
        Launch(KernelId.LrnForward, Blocks(n), BlockSize, args, 11);
    }

    public void LrnBackward(in LrnParams p, Tensor x, Tensor y, Tensor scale, Tensor dy, Tensor dx)
    {
        EnsureContext();
        var (channels, plane) = LrnShape(x, "LrnBackward");
        CheckLength(y, x.Length, "LrnBackward y");
        CheckLength(scale, x.Length, "LrnBackward scale");
        CheckLength(dy, x.Length, "LrnBackward dy");
        CheckLength(dx, x.Length, "LrnBackward dx");
        ulong px = Ptr(x), py = Ptr(y), ps = Ptr(scale), pdy = Ptr(dy), pdx = Ptr(dx);
        uint c = (uint)channels, pl = (uint)plane, before = (uint)(p.Size / 2), after = (uint)((p.Size - 1) / 2);
        float beta = p.Beta;
        double coef = 2.0 * p.Alpha * p.Beta / p.Size;
        uint n = (uint)x.Length;
        void** args = stackalloc void*[] { &px, &py, &ps, &pdy, &pdx, &c, &pl, &before, &after, &beta, &coef, &n };
        Launch(KernelId.LrnBackward, Blocks(n), BlockSize, args, 12);
    }

    private static (int Channels, int Plane) LrnShape(Tensor x, string what)
    {
        if (x.Shape.Length != 4)
            throw new ArgumentException($"{what}: x must be NCHW, is {Tensor.ShapeString(x.Shape)}");
        return (x.Shape[1], x.Shape[2] * x.Shape[3]);
    }

    public void DropoutForward(Tensor x, Tensor y, Tensor mask, float dropProbability, ulong seed)
    {
        EnsureContext();
        CheckLength(y, x.Length, "DropoutForward y");
        CheckLength(mask, x.Length, "DropoutForward mask");
        ulong px = Ptr(x), py = Ptr(y), pm = Ptr(mask);
        float p = dropProbability;
        float keep = p >= 1 ? 0 : 1f / (1f - p);
        uint n = (uint)x.Length;
        void** args = stackalloc void*[] { &px, &py, &pm, &seed, &p, &keep, &n };
        Launch(KernelId.DropoutForward, Blocks(n), BlockSize, args, 7);
    }

    public void DropoutBackward(Tensor dy, Tensor mask, Tensor dx)
    {
        EnsureContext();
        CheckLength(dy, dx.Length, "DropoutBackward dy");
        CheckLength(mask, dx.Length, "DropoutBackward mask");
        ulong pdy = Ptr(dy), pm = Ptr(mask), pdx = Ptr(dx);
        uint n = (uint)dx.Length;
        void** args = stackalloc void*[] { &pdy, &pm, &pdx, &n };
        Launch(KernelId.DropoutBackward, Blocks(n), BlockSize, args, 4);
    }

    // ---- losses and optimiser -----------------------------------------------------

    public void WeightedLoss(Tensor logits, Tensor labels, ReadOnlySpan<LossHead> heads, float classScale,
        Tensor? dLogits, Tensor? prediction, Tensor? target, float pixelScale, Tensor? dPrediction, Tensor lossTerms)
    {
        EnsureContext();
        int m = heads.Length, batch = logits.Batch, totalClasses = logits.ItemLength;
        int labelColumns = labels.ItemLength;
        if (lossTerms.Length < 2 * m + 2)
            throw new ArgumentException($"lossTerms needs {2 * m + 2} elements, has {lossTerms.Length}");
        CheckLength(labels, (long)batch * labelColumns, "WeightedLoss labels");
        if (labels.Batch != batch) throw new ArgumentException($"WeightedLoss: {labels.Batch} label rows for a batch of {batch}");
        if (dLogits is not null) CheckLength(dLogits, logits.Length, "WeightedLoss dLogits");
        foreach (var h in heads)
        {
            if (h.Offset < 0 || h.Classes <= 0 || h.Offset + h.Classes > totalClasses)
                throw new ArgumentException($"WeightedLoss: head [{h.Offset}, {h.Offset + h.Classes}) outside {totalClasses} logits");
            if (h.LabelColumn < 0 || h.LabelColumn >= labelColumns)
                throw new ArgumentException($"WeightedLoss: label column {h.LabelColumn} outside {labelColumns}");
        }
        if (prediction is not null)
        {
            if (target is null) throw new ArgumentException("WeightedLoss: a prediction needs a target");
            CheckLength(target, prediction.Length, "WeightedLoss target");
            if (dPrediction is not null) CheckLength(dPrediction, prediction.Length, "WeightedLoss dPrediction");
        }

        // the kernels add into lossTerms
        _cu.Check(_cu.cuMemsetD32Async(Ptr(lossTerms), 0, (nuint)(2 * m + 2), _stream), "cuMemsetD32Async(lossTerms)");
        if (batch == 0) return;

        ulong pl = Ptr(logits), plab = Ptr(labels), pdl = dLogits is null ? 0 : Ptr(dLogits), pt = Ptr(lossTerms);
        uint tc = (uint)totalClasses, lc = (uint)labelColumns;
        uint totalSlot = (uint)(m + 1);
        float invBatch = 1f / batch;
        uint offset = 0, classes = 0, column = 0, ceSlot = 0, correctSlot = 0;
        float totalWeight = 0, gradScale = 0;
        void** headArgs = stackalloc void*[]
        {
            &pl, &plab, &pdl, &pt, &tc, &lc, &offset, &classes, &column, &ceSlot, &totalSlot, &correctSlot,
            &invBatch, &totalWeight, &gradScale,
        };
        for (int f = 0; f < m; f++)
        {
            var h = heads[f];
            offset = (uint)h.Offset;
            classes = (uint)h.Classes;
            column = (uint)h.LabelColumn;
            ceSlot = (uint)f;
            correctSlot = (uint)(m + 2 + f);
            totalWeight = classScale * h.Weight;
            // the CPU reference's float expression classScale * w / batch
            gradScale = classScale * h.Weight / batch;
            // one warp per sample; the driver copies the argument values at launch
            Launch(KernelId.LossSoftmaxHead, (uint)batch, 32, headArgs, 15);
        }

        if (prediction is not null && prediction.Length > 0)
        {
            ulong pp = Ptr(prediction), ptg = Ptr(target!), pdp = dPrediction is null ? 0 : Ptr(dPrediction);
            uint eSlot = (uint)m, n = (uint)prediction.Length;
            double scale = pixelScale, b = batch;
            void** args = stackalloc void*[] { &pp, &ptg, &pdp, &pt, &eSlot, &totalSlot, &scale, &b, &n };
            Launch(KernelId.LossEuclidean, Math.Min(Blocks(n), 1024u), BlockSize, args, 9);
        }
    }

    public void AdamUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, in AdamStep step)
    {
        EnsureContext();
        CheckLength(grad, param.Length, "AdamUpdate grad");
        CheckLength(m, param.Length, "AdamUpdate m");
        CheckLength(v, param.Length, "AdamUpdate v");
        ulong pp = Ptr(param), pg = Ptr(grad), pm = Ptr(m), pv = Ptr(v);
        float b1 = step.Beta1, b2 = step.Beta2, lr = step.LearningRate, eps = step.Epsilon, wd = step.WeightDecay;
        // as the CPU reference: (1 - b) in float, the bias corrections in double
        float omb1 = 1 - step.Beta1, omb2 = 1 - step.Beta2;
        double c1 = 1 - Math.Pow(step.Beta1, step.Step), c2 = 1 - Math.Pow(step.Beta2, step.Step);
        uint n = (uint)param.Length;
        void** args = stackalloc void*[] { &pp, &pg, &pm, &pv, &b1, &omb1, &b2, &omb2, &lr, &eps, &wd, &c1, &c2, &n };
        Launch(KernelId.AdamUpdate, Blocks(n), BlockSize, args, 14);
    }

    // ---- timing -------------------------------------------------------------------

    /// <summary>
    /// Starts timing the work queued from now on, with CUDA events on this backend's stream;
    /// <see cref="CudaTimer.Stop"/> waits for that work and returns the milliseconds it took.
    /// </summary>
    public CudaTimer StartTimer()
    {
        EnsureContext();
        return new CudaTimer(_cu, _stream);
    }

    // ---- helpers ------------------------------------------------------------------

    private void Launch(KernelId id, uint grid, uint block, void** args, int argCount)
    {
        if (_kernels is null) throw new ObjectDisposedException(nameof(CudaBackend));
        _kernels.Launch(id, grid, block, _stream, args, argCount);
    }

    private static uint Blocks(long n) => (uint)((n + BlockSize - 1) / BlockSize);

    private static void CheckLength(Tensor t, long expected, string what)
    {
        if (t.Length < expected)
            throw new ArgumentException($"{what}: needs {expected} elements, tensor has {t.Length} {Tensor.ShapeString(t.Shape)}");
    }

    private static void CheckRange(Tensor t, int offset, int count, string what)
    {
        if (offset < 0 || (long)offset + count > t.Length)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"{what}: elements [{offset}, {(long)offset + count}) outside {t} of {t.Length}");
    }

    private static void CheckConv(in ConvGeometry g, Tensor x, Tensor w, Tensor y)
    {
        CheckLength(x, Tensor.CountOf(g.XShape), "conv x");
        CheckLength(w, Tensor.CountOf(g.WShape), "conv w");
        CheckLength(y, Tensor.CountOf(g.YShape), "conv y");
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_context != IntPtr.Zero)
        {
            // best effort: a failed context (e.g. after an illegal address) refuses most calls
            if (_cu.cuCtxSetCurrent(_context) == 0) t_currentContext = _context;
            if (_stream != IntPtr.Zero) _cu.cuStreamSynchronize(_stream);
            foreach (var plan in _plans.Values) DestroyPlan(plan);
            _plans.Clear();
            _kernels?.Dispose();
            if (_dnnHandle != IntPtr.Zero) _dnn.cudnnDestroy(_dnnHandle);
            if (_blasHandle != IntPtr.Zero) _blas.cublasDestroy(_blasHandle);
            foreach (var b in _live.ToList()) FreeBuffer(b);
            if (_stream != IntPtr.Zero) _cu.cuStreamDestroy(_stream);
            int dev;
            if (_cu.cuDeviceGet(&dev, _device) == 0) _cu.cuDevicePrimaryCtxRelease(dev);
            t_currentContext = IntPtr.Zero;
        }
        _dnnHandle = _blasHandle = _stream = _context = IntPtr.Zero;
        _disposed = true;
    }
}

/// <summary>Times queued GPU work with a pair of CUDA events.</summary>
public sealed unsafe class CudaTimer : IDisposable
{
    private readonly CuDriver _cu;
    private readonly IntPtr _stream;
    private IntPtr _start, _end;

    internal CudaTimer(CuDriver cu, IntPtr stream)
    {
        _cu = cu;
        _stream = stream;
        IntPtr e;
        _cu.Check(_cu.cuEventCreate(&e, 0), "cuEventCreate");
        _start = e;
        _cu.Check(_cu.cuEventCreate(&e, 0), "cuEventCreate");
        _end = e;
        _cu.Check(_cu.cuEventRecord(_start, _stream), "cuEventRecord");
    }

    /// <summary>Records the end, waits for it, and returns the elapsed milliseconds.</summary>
    public float Stop()
    {
        _cu.Check(_cu.cuEventRecord(_end, _stream), "cuEventRecord");
        _cu.Check(_cu.cuEventSynchronize(_end), "cuEventSynchronize");
        float ms;
        _cu.Check(_cu.cuEventElapsedTime(&ms, _start, _end), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        if (_start != IntPtr.Zero) _cu.cuEventDestroy(_start);
        if (_end != IntPtr.Zero) _cu.cuEventDestroy(_end);
        _start = _end = IntPtr.Zero;
    }
}
