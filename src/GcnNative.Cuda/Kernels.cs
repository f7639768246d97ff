using System.Reflection;
using System.Text;
using GcnNative.Cuda.Native;

namespace GcnNative.Cuda;

/// <summary>The hand-written kernels, in the order of <see cref="KernelCatalog.All"/>.</summary>
internal enum KernelId
{
    Axpy,
    CopyColumns,
    LeakyReluForward,
    LeakyReluBackward,
    DropoutForward,
    DropoutBackward,
    AddBias,
    BiasGradient,
    AdamUpdate,
    MaxPoolForward,
    MaxPoolBackward,
    LrnForward,
    LrnBackward,
    LossSoftmaxHead,
    LossEuclidean,
}

/// <summary>
/// Every kernel: the .ptx file it lives in (embedded as resource "kernels/&lt;file&gt;"), its entry
/// name, and the PTX types of its parameters in order. The launch code passes exactly these
/// (u64 = ulong device pointer, u32 = uint, f32 = float, f64 = double); a test checks this
/// table against the .entry declarations of the PTX text.
/// </summary>
internal static class KernelCatalog
{
    public sealed record Entry(KernelId Id, string File, string Name, string Params)
    {
        public string[] ParamTypes => Params.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    public static readonly Entry[] All =
    [
        new(KernelId.Axpy, "elementwise.ptx", "axpy", "u64 u64 f32 u32"),
        new(KernelId.CopyColumns, "elementwise.ptx", "copy_columns", "u64 u64 u32 u32 u32 u32 u32 u32 u32"),
        new(KernelId.LeakyReluForward, "leaky_relu.ptx", "leaky_relu_forward", "u64 u64 f32 u32"),
        new(KernelId.LeakyReluBackward, "leaky_relu.ptx", "leaky_relu_backward", "u64 u64 u64 f32 u32"),
        new(KernelId.DropoutForward, "dropout.ptx", "dropout_forward", "u64 u64 u64 u64 f32 f32 u32"),
        new(KernelId.DropoutBackward, "dropout.ptx", "dropout_backward", "u64 u64 u64 u32"),
        new(KernelId.AddBias, "bias.ptx", "add_bias", "u64 u64 u32 u32 u32"),
        new(KernelId.BiasGradient, "bias.ptx", "bias_gradient", "u64 u64 u32 u32 u32 u32"),
        new(KernelId.AdamUpdate, "adam.ptx", "adam_update", "u64 u64 u64 u64 f32 f32 f32 f32 f32 f32 f32 f64 f64 u32"),
        new(KernelId.MaxPoolForward, "max_pool.ptx", "max_pool_forward", "u64 u64 u32 u32 u32 u32 u32 u32 u32"),
        new(KernelId.MaxPoolBackward, "max_pool.ptx", "max_pool_backward", "u64 u64 u64 u64 u32 u32 u32 u32 u32 u32 u32"),
        new(KernelId.LrnForward, "lrn.ptx", "lrn_forward", "u64 u64 u64 u32 u32 u32 u32 f32 f32 f32 u32"),
        new(KernelId.LrnBackward, "lrn.ptx", "lrn_backward", "u64 u64 u64 u64 u64 u32 u32 u32 u32 f32 f64 u32"),
        new(KernelId.LossSoftmaxHead, "weighted_loss.ptx", "loss_softmax_head",
            "u64 u64 u64 u64 u32 u32 u32 u32 u32 u32 u32 u32 f32 f32 f32"),
        new(KernelId.LossEuclidean, "weighted_loss.ptx", "loss_euclidean", "u64 u64 u64 u64 u32 u32 f64 f64 u32"),
    ];

    /// <summary>The distinct .ptx files, in catalog order.</summary>
    public static IEnumerable<string> Files => All.Select(e => e.File).Distinct();

    /// <summary>The text of an embedded kernel file.</summary>
    public static string ReadPtx(string file)
    {
        var assembly = typeof(KernelCatalog).Assembly;
        using var stream = assembly.GetManifestResourceStream($"kernels/{file}")
            ?? throw new InvalidOperationException(
                $"kernel file {file} is not embedded (resources: {string.Join(", ", assembly.GetManifestResourceNames())})");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return reader.ReadToEnd();
    }

    public static IReadOnlyList<string> EmbeddedFiles() =>
        typeof(KernelCatalog).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("kernels/", StringComparison.Ordinal) && n.EndsWith(".ptx", StringComparison.Ordinal))
            .Select(n => n["kernels/".Length..]).OrderBy(n => n, StringComparer.Ordinal).ToList();
}

/// <summary>
/// The PTX modules JIT-compiled by the driver for the current device, and their functions.
/// Each file loads on its own, so one that fails to compile disables only its operations;
/// the failure (with the JIT error log) is kept and raised when such an operation is used.
/// </summary>
internal sealed unsafe class KernelSet : IDisposable
{
    private readonly CuDriver _cu;
    private readonly List<IntPtr> _modules = [];
    private readonly IntPtr[] _functions = new IntPtr[KernelCatalog.All.Length];
    private readonly string?[] _problems = new string?[KernelCatalog.All.Length];

    public KernelSet(CuDriver cu)
    {
        _cu = cu;
        foreach (var file in KernelCatalog.Files)
        {
            string? problem = null;
            IntPtr module = IntPtr.Zero;
            try
            {
                module = LoadModule(file, out var info);
                if (!string.IsNullOrWhiteSpace(info)) JitInfo.Add($"{file}: {info.Trim()}");
                _modules.Add(module);
            }
            catch (CudaException e)
            {
                problem = e.Message;
                Problems.Add($"{file}: {e.Message}");
            }

            foreach (var entry in KernelCatalog.All.Where(e => e.File == file))
            {
                if (problem is not null) { _problems[(int)entry.Id] = problem; continue; }
                IntPtr function;
                var name = Encoding.ASCII.GetBytes(entry.Name + "\0");
                int status;
                fixed (byte* n = name) status = _cu.cuModuleGetFunction(&function, module, n);
                if (status != 0)
                {
                    var message = _cu.Error(status, $"cuModuleGetFunction({entry.Name})", $"is .entry {entry.Name} in {file}?").Message;
                    _problems[(int)entry.Id] = message;
                    Problems.Add($"{file}: {message}");
                    continue;
                }
                _functions[(int)entry.Id] = function;
            }
        }
    }

    /// <summary>One line per file or entry that failed.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>What the JIT said about files that compiled (usually nothing).</summary>
    public List<string> JitInfo { get; } = [];

    public int ModuleCount => _modules.Count;

    private IntPtr LoadModule(string file, out string info)
    {
        // the driver takes NUL-terminated PTX text
        var image = Encoding.ASCII.GetBytes(KernelCatalog.ReadPtx(file) + "\0");
        const int logSize = 16384;
        var errorLog = new byte[logSize];
        var infoLog = new byte[logSize];
        IntPtr module;
        int status;
        fixed (byte* img = image)
        fixed (byte* err = errorLog)
        fixed (byte* inf = infoLog)
        {
            int* options = stackalloc int[4];
            void** values = stackalloc void*[4];
            options[0] = CuDriver.CU_JIT_ERROR_LOG_BUFFER;
            values[0] = err;
            // the buffer size travels by value in the pointer slot
            options[1] = CuDriver.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES;
            values[1] = (void*)(nuint)logSize;
            options[2] = CuDriver.CU_JIT_INFO_LOG_BUFFER;
            values[2] = inf;
            options[3] = CuDriver.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES;
            values[3] = (void*)(nuint)logSize;
            status = _cu.cuModuleLoadDataEx(&module, img, 4, options, values);
        }
        info = CString(infoLog);
        if (status != 0)
        {
            var log = CString(errorLog).Trim();
            throw _cu.Error(status, $"cuModuleLoadDataEx({file})",
                log.Length > 0 ? $"JIT log: {log.ReplaceLineEndings(" | ")}" : "the JIT log is empty");
        }
        return module;
    }

    private static string CString(byte[] buffer)
    {
        int end = Array.IndexOf(buffer, (byte)0);
        return Encoding.ASCII.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }

    /// <summary>
    /// Queues a kernel on <paramref name="stream"/>. <paramref name="args"/>[i] points at the
    /// i-th argument's value; their count must match the catalog.
    /// </summary>
    public void Launch(KernelId id, uint grid, uint block, IntPtr stream, void** args, int argCount)
    {
        var entry = KernelCatalog.All[(int)id];
        if (argCount != entry.ParamTypes.Length)
            throw new InvalidOperationException(
                $"launch of {entry.Name} with {argCount} arguments; its PTX takes {entry.ParamTypes.Length}");
        var function = _functions[(int)id];
        if (function == IntPtr.Zero)
            throw new CudaException($"kernel {entry.Name} ({entry.File}) is not available: {_problems[(int)id]}");
        if (grid == 0) return;
        int status = _cu.cuLaunchKernel(function, grid, 1, 1, block, 1, 1, 0, stream, args, null);
        if (status != 0) throw _cu.Error(status, $"cuLaunchKernel({entry.Name}, grid {grid}, block {block})");
    }

    public void Dispose()
    {
        foreach (var m in _modules) _cu.cuModuleUnload(m);
        _modules.Clear();
        Array.Clear(_functions);
    }
}
