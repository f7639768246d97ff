using System.Runtime.InteropServices;

namespace GcnNative.Cpu;

/// <summary>
/// The fast CPU path: a blocked, packed, register-tiled GEMM (AVX-512 or portable
/// <see cref="System.Numerics.Vector{T}"/> micro-kernel), convolutions lowered onto it with
/// im2col / col2im, and vectorised elementwise operations, all spread over
/// <see cref="Threads"/> workers. Every method computes what its <see cref="CpuReference"/>
/// namesake computes, up to float rounding (sums run in float here, in double there), and
/// is tested against it. Work buffers live in this instance and grow to the largest call
/// seen, so steady-state training allocates nothing. One caller at a time.
/// </summary>
public sealed unsafe partial class CpuFast : IDisposable
{
    private readonly WorkerPool _pool;
    private readonly Workspace[] _workspaces;

    /// <summary>Creates the fast path with its worker threads and the best kernel for this CPU.</summary>
    public CpuFast(int threads) : this(threads, GemmKernels.Avx512Available ? GemmKernelKind.Avx512 : GemmKernelKind.Portable)
    {
    }

    /// <summary>Creates the fast path with a chosen micro-kernel (tests run the portable one on AVX-512 CPUs).</summary>
    public CpuFast(int threads, GemmKernelKind kernel)
    {
        if (kernel == GemmKernelKind.Avx512 && !GemmKernels.Avx512Available)
            throw new PlatformNotSupportedException("the AVX-512 GEMM kernel needs AVX-512F hardware acceleration");
        Threads = Math.Max(1, threads);
        Kernel = kernel;
        Mr = kernel == GemmKernelKind.Avx512 ? GemmKernels.Avx512Mr : GemmKernels.PortableMr;
        Nr = kernel == GemmKernelKind.Avx512 ? GemmKernels.Avx512Nr : GemmKernels.PortableNr;
        _pool = new WorkerPool(Threads);
        _workspaces = new Workspace[Threads];
        for (int w = 0; w < Threads; w++) _workspaces[w] = new Workspace(this);
        _gemmBody = GemmPart;
        _depthBody = DepthPart;
        InitConvBodies();
        InitElementwiseBodies();
    }

    /// <summary>Worker threads, the caller included.</summary>
    public int Threads { get; }

    /// <summary>The GEMM micro-kernel in use.</summary>
    public GemmKernelKind Kernel { get; }

    /// <summary>Rows of the micro-kernel tile.</summary>
    internal int Mr { get; }

    /// <summary>Columns of the micro-kernel tile.</summary>
    internal int Nr { get; }

    /// <summary>The instruction set of the default kernel on this CPU.</summary>
    public static string InstructionSet =>
        GemmKernels.Avx512Available ? "AVX-512"
        : System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? "AVX2+FMA"
        : "portable";

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pool.Dispose();
        foreach (var ws in _workspaces) ws.Dispose();
        _packedWeights.Dispose();
        _depthScratch.Dispose();
    }

    /// <summary>64-byte aligned native floats that grow to the largest size asked for.</summary>
    internal sealed class AlignedBuffer : IDisposable
    {
        private float* _data;
        private long _size;

        public float* Ensure(long floats)
        {
            if (floats <= _size) return _data;
            NativeMemory.AlignedFree(_data);
            _data = (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
            _size = floats;
            return _data;
        }

        public void Dispose()
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
            _size = 0;
        }
    }

    /// <summary>
    /// One worker's buffers: GEMM packing (fixed size, 64-byte aligned native memory so the
    /// kernels' vector loads never split cache lines) and convolution scratch (grown on demand).
    /// </summary>
    internal sealed class Workspace : IDisposable
    {
        public readonly float* PackA;   // [MC x KC] in MR-row panels
        public readonly float* PackB;   // [KC x NC] in NR-column panels, or a GemmDepthStream row block
        public readonly float* Tile;    // [MR x NR] for edge tiles
        public float[] Col = [];        // im2col matrix [K, columns]
        public float[] Gathered = [];   // dy of an image group as [Cout, columns], or a GEMM result before scatter
        public float[] Partial = [];    // this worker's filter gradient before the reduction

        public Workspace(CpuFast owner)
        {
            PackA = Alloc(McMax * KcMax);
            PackB = Alloc(Math.Max(KcMax * (NcMax + owner.Nr), DepthKc * (DepthNc + 16)));
            Tile = Alloc(owner.Mr * owner.Nr);
        }

        private static float* Alloc(int floats) => (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);

        public static float[] Grow(ref float[] buffer, long size)
        {
            if (buffer.Length < size) buffer = GC.AllocateUninitializedArray<float>(checked((int)size));
            return buffer;
        }

        public void Dispose()
        {
            NativeMemory.AlignedFree(PackA);
            NativeMemory.AlignedFree(PackB);
            NativeMemory.AlignedFree(Tile);
        }
    }
}
