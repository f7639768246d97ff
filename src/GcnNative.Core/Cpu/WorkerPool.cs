namespace GcnNative.Cpu;

/// <summary>Work item of <see cref="WorkerPool.Run"/>: the item index and the id of the worker running it.</summary>
internal delegate void ParallelBody(int item, int worker);

/// <summary>
/// A tiny fork-join pool: <c>threads - 1</c> dedicated background threads plus the caller.
/// Items are handed out from a shared counter, so uneven items balance themselves.
/// Why not Parallel.For: it allocates per call and its scheduling latency (tens of
/// microseconds) shows up on the small convolutions that run thousands of times per epoch.
/// Callers keep their <see cref="ParallelBody"/> delegates in fields so a call allocates nothing.
/// Not re-entrant: a body must not call <see cref="Run"/> on the same pool.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _wake;
    private readonly ManualResetEventSlim _done = new(false, 200);
    private readonly object _gate = new();
    private ParallelBody? _body;
    private int _count;
    private int _next;
    private int _active;
    private Exception? _failure;
    private volatile bool _disposed;

    public WorkerPool(int threads)
    {
        Threads = Math.Max(1, threads);
        _threads = new Thread[Threads - 1];
        _wake = new ManualResetEventSlim[Threads - 1];
        for (int w = 0; w < _threads.Length; w++)
        {
            int id = w + 1;
            _wake[w] = new ManualResetEventSlim(false, 200);
            _threads[w] = new Thread(() => WorkerLoop(id)) { IsBackground = true, Name = $"gcn-cpu-{id}" };
            _threads[w].Start();
        }
    }

    /// <summary>Participants, the caller included.</summary>
    public int Threads { get; }

    /// <summary>Runs body(item, worker) for item in [0, count); worker is in [0, Threads).</summary>
    public void Run(int count, ParallelBody body)
    {
        if (count <= 0) return;
        lock (_gate)
        {
            if (count == 1 || _threads.Length == 0)
            {
                for (int i = 0; i < count; i++) body(i, 0);
                return;
            }
            _body = body;
            _count = count;
            _next = 0;
            _failure = null;
            int helpers = Math.Min(_threads.Length, count - 1);
            _active = helpers;
            _done.Reset();
            for (int w = 0; w < helpers; w++) _wake[w].Set();

            Drain(0);
            _done.Wait();
            _body = null;
            if (_failure is not null)
                throw new AggregateException("a CPU worker failed", _failure);
        }
    }

    private void Drain(int worker)
    {
        var body = _body!;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count)
        {
            try { body(i, worker); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
        }
    }

    private void WorkerLoop(int id)
    {
        var wake = _wake[id - 1];
        while (true)
        {
            wake.Wait();
            wake.Reset();
            if (_disposed) return;
            Drain(id);
            if (Interlocked.Decrement(ref _active) == 0) _done.Set();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var w in _wake) w.Set();
    }
}
