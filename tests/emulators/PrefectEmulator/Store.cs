namespace PrefectScaling.Testing.PrefectEmulator;

internal sealed class PoolEntity
{
    public Guid Id;
    public string IdText = "";
    public string Name = "";
    public string Type = "process";
    public string? Description;
    public bool IsPaused;
    public int? ConcurrencyLimit;
    public DateTimeOffset Created;
    public DateTimeOffset Updated;
    public QueueEntity? DefaultQueue;
    public readonly List<QueueEntity> Queues = new();
}

internal sealed class QueueEntity
{
    public Guid Id;
    public string IdText = "";
    public string Name = "";
    public PoolEntity Pool = null!;
    public int Priority;
    public bool IsPaused;
    public int? ConcurrencyLimit;
    public DateTimeOffset? LastPolled;
    public DateTimeOffset Created;
    public DateTimeOffset Updated;
    public Guid DeploymentId;
}

internal sealed class RunEntity
{
    public Guid Id;
    public string IdText = "";
    public string Name = "";
    public Guid FlowId;
    public Guid? DeploymentId;
    public QueueEntity? Queue;
    public string? WorkQueueName;
    public string StateType = "SCHEDULED";
    public string StateName = "Scheduled";
    public Guid StateId;
    public DateTimeOffset StateTimestamp;
    public DateTimeOffset? ExpectedStartTime;
    public DateTimeOffset? NextScheduledStartTime;
    public DateTimeOffset? StartTime;
    public DateTimeOffset? EndTime;
    public string[] Tags = Array.Empty<string>();
    public string? FlowVersion;
    public DateTimeOffset Created;
    public DateTimeOffset Updated;
}

/// <summary>In-memory data. All access goes through the owner's lock.</summary>
internal sealed class Store
{
    public const string DefaultAgentPool = "default-agent-pool";

    public static readonly string[] StateTypes =
        { "SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "PAUSED", "CANCELLING" };

    public static readonly HashSet<string> TerminalTypes = new(StringComparer.Ordinal)
        { "COMPLETED", "FAILED", "CANCELLED", "CRASHED" };

    public readonly List<PoolEntity> Pools = new();
    public readonly Dictionary<string, PoolEntity> PoolsByName = new(StringComparer.Ordinal);
    public readonly Dictionary<Guid, QueueEntity> QueuesById = new();
    public readonly List<QueueEntity> AllQueues = new();
    public readonly List<RunEntity> Runs = new();
    private readonly Guid _flowId = Guid.NewGuid();
    private int _runCounter;

    public static DateTimeOffset Micro(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - utc.Ticks % 10, TimeSpan.Zero);
    }

    /// <summary>3.x records a start and end time for a run created in a terminal state; 2.x records neither.</summary>
    private bool _terminalTimes;

    public static Store Build(EmulatorSeed seed, DateTimeOffset now, bool v3 = true)
    {
        now = Micro(now);
        var s = new Store { _terminalTimes = v3 };
        foreach (var p in seed.Pools ?? new List<SeedPool>())
        {
            if (string.IsNullOrEmpty(p.Name)) throw new ArgumentException("Seed pool without a name.");
            if (s.PoolsByName.ContainsKey(p.Name)) throw new ArgumentException($"Duplicate seed pool '{p.Name}'.");
            var pool = s.AddPool(p.Name, p.Type ?? "process", now);
            pool.Description = p.Description;
            pool.IsPaused = p.IsPaused;
            pool.ConcurrencyLimit = p.ConcurrencyLimit;
            foreach (var q in p.Queues ?? new List<SeedQueue>())
            {
                if (string.IsNullOrEmpty(q.Name)) throw new ArgumentException($"Seed queue without a name in pool '{p.Name}'.");
                if (pool.Queues.Any(x => x.Name == q.Name)) throw new ArgumentException($"Duplicate seed queue '{p.Name}/{q.Name}'.");
                var queue = s.AddQueue(pool, q.Name, q.Priority, now);
                queue.IsPaused = q.IsPaused;
                queue.ConcurrencyLimit = q.ConcurrencyLimit;
                queue.LastPolled = q.LastPolledOffsetSeconds is double o ? Micro(now.AddSeconds(o)) : null;
            }
            s.EnsureDefaultQueue(pool, now);
        }

        if (seed.Generate is { } g)
        {
            var generated = new List<QueueEntity>();
            for (var i = 1; i <= g.Pools; i++)
            {
                var name = $"{g.PoolPrefix}-{i}";
                if (!s.PoolsByName.TryGetValue(name, out var pool)) pool = s.AddPool(name, g.PoolType ?? "ecs", now);
                s.EnsureDefaultQueue(pool, now);
                for (var j = 1; j <= g.QueuesPerPool; j++)
                {
                    var qn = $"{g.QueuePrefix}-{j}";
                    var queue = pool.Queues.FirstOrDefault(x => x.Name == qn) ?? s.AddQueue(pool, qn, null, now);
                    generated.Add(queue);
                }
            }
            // Round-robin across pools first (q-1 of every pool, then q-2, ...), so late runs spread over all pools.
            var perPool = Math.Max(g.QueuesPerPool, 0);
            var pools = Math.Max(g.Pools, 0);
            if (generated.Count == pools * perPool)
                generated = Enumerable.Range(0, perPool).SelectMany(j => Enumerable.Range(0, pools).Select(i => generated[i * perPool + j])).ToList();
            if (generated.Count > 0)
            {
                for (var k = 0; k < g.LateRuns; k++)
                {
                    var q = generated[k % generated.Count];
                    // Spread lateness a little: between 1 and 30 minutes overdue.
                    s.AddRun(q, "SCHEDULED", "Late", now.AddSeconds(-60 - 29 * (k % 60)), now, Array.Empty<string>(), null, null, null);
                }
                if (g.FutureRuns)
                {
                    foreach (var q in generated)
                        s.AddRun(q, "SCHEDULED", "Scheduled", now.AddHours(1), now, Array.Empty<string>(), null, null, null);
                }
            }
        }

        foreach (var r in seed.Runs ?? new List<SeedRun>())
        {
            QueueEntity? queue = null;
            if (r.Pool is not null || r.Queue is not null)
            {
                var poolName = r.Pool ?? DefaultAgentPool;
                if (!s.PoolsByName.TryGetValue(poolName, out var pool))
                {
                    pool = s.AddPool(poolName, poolName == DefaultAgentPool ? "prefect-agent" : "process", now);
                    s.EnsureDefaultQueue(pool, now);
                }
                var queueName = r.Queue ?? "default";
                queue = pool.Queues.FirstOrDefault(x => x.Name == queueName) ?? s.AddQueue(pool, queueName, null, now);
            }
            var type = r.StateType?.Trim();
            var name = r.StateName;
            if (type is null) type = name is null ? "SCHEDULED" : TypeForName(name);
            if (!StateTypes.Contains(type)) throw new ArgumentException($"Invalid seed state_type '{type}'.");
            name ??= DefaultName(type);
            var count = r.Count <= 0 ? 1 : r.Count;
            var when = now.AddSeconds(r.ScheduledOffsetSeconds ?? 0);
            for (var i = 0; i < count; i++)
            {
                var runName = r.Name is null ? null : (count == 1 ? r.Name : $"{r.Name}-{i + 1}");
                s.AddRun(queue, type, name, when, now, (r.Tags ?? new List<string>()).ToArray(), runName, r.FlowVersion, r.DeploymentId);
            }
        }
        return s;
    }

    public static string TypeForName(string name) => name switch
    {
        "Scheduled" or "Late" or "AwaitingRetry" or "AwaitingConcurrencySlot" => "SCHEDULED",
        "Pending" or "Submitting" or "InfrastructurePending" => "PENDING",
        "Running" or "Retrying" => "RUNNING",
        "Completed" or "Cached" or "RolledBack" => "COMPLETED",
        "Failed" => "FAILED",
        "Cancelled" => "CANCELLED",
        "Crashed" => "CRASHED",
        "Paused" or "Suspended" => "PAUSED",
        "Cancelling" => "CANCELLING",
        _ => "SCHEDULED",
    };

    public static string DefaultName(string type) => type switch
    {
        "SCHEDULED" => "Scheduled",
        "PENDING" => "Pending",
        "RUNNING" => "Running",
        "COMPLETED" => "Completed",
        "FAILED" => "Failed",
        "CANCELLED" => "Cancelled",
        "CRASHED" => "Crashed",
        "PAUSED" => "Paused",
        "CANCELLING" => "Cancelling",
        _ => type,
    };

    // Real 2.20.25 and 3.8.3 servers answer 422 for a pool or queue name with any of these ("must not contain"):
    // the emulator must not hold what no real server can.
    private static readonly char[] BannedNameCharacters = { '/', '%', '&', '>', '<' };

    private static void CheckName(string what, string name)
    {
        if (name.IndexOfAny(BannedNameCharacters) >= 0)
            throw new ArgumentException($"Seed {what} name '{name}' contains one of / % & > <, which real Prefect servers refuse.");
    }

    private PoolEntity AddPool(string name, string type, DateTimeOffset now)
    {
        CheckName("pool", name);
        var pool = new PoolEntity { Id = Guid.NewGuid(), Name = name, Type = type, Created = now, Updated = now };
        pool.IdText = pool.Id.ToString("D");
        Pools.Add(pool);
        PoolsByName[name] = pool;
        return pool;
    }

    private void EnsureDefaultQueue(PoolEntity pool, DateTimeOffset now)
    {
        var def = pool.Queues.FirstOrDefault(q => q.Name == "default");
        if (def is null)
        {
            def = AddQueue(pool, "default", 1, now);
            // Prefect creates the default queue first; keep it first in the pool list.
            pool.Queues.Remove(def);
            pool.Queues.Insert(0, def);
        }
        pool.DefaultQueue = def;
    }

    private QueueEntity AddQueue(PoolEntity pool, string name, int? priority, DateTimeOffset now)
    {
        CheckName("queue", name);
        var prio = priority ?? (pool.Queues.Count == 0 ? 1 : pool.Queues.Max(q => q.Priority) + 1);
        if (priority is null && name != "default" && pool.Queues.All(q => q.Name != "default")) prio = Math.Max(prio, 2);
        var q = new QueueEntity
        {
            Id = Guid.NewGuid(), Name = name, Pool = pool, Priority = prio, Created = now, Updated = now,
            DeploymentId = Guid.NewGuid(),
        };
        q.IdText = q.Id.ToString("D");
        pool.Queues.Add(q);
        QueuesById[q.Id] = q;
        AllQueues.Add(q);
        return q;
    }

    private void AddRun(QueueEntity? queue, string type, string name, DateTimeOffset when, DateTimeOffset now,
        string[] tags, string? runName, string? flowVersion, Guid? deploymentId)
    {
        when = Micro(when);
        _runCounter++;
        var run = new RunEntity
        {
            Id = Guid.NewGuid(),
            Name = runName ?? $"emulated-run-{_runCounter:D6}",
            FlowId = _flowId,
            DeploymentId = deploymentId ?? queue?.DeploymentId,
            Queue = queue,
            WorkQueueName = queue?.Name,
            StateType = type,
            StateName = name,
            StateId = Guid.NewGuid(),
            StateTimestamp = now,
            ExpectedStartTime = when,
            NextScheduledStartTime = type == "SCHEDULED" ? when : null,
            Tags = tags,
            FlowVersion = flowVersion,
            Created = now,
            Updated = now,
        };
        run.IdText = run.Id.ToString("D");
        // As a real server records a run created in its state (what a seed describes): only RUNNING has
        // started; a terminal run has start = end = its time on 3.x and neither on 2.x.
        if (type == "RUNNING")
        {
            run.StartTime = when <= now ? when : now;
        }
        else if (TerminalTypes.Contains(type) && _terminalTimes)
        {
            run.StartTime = when <= now ? when : now;
            run.EndTime = run.StartTime;
        }
        Runs.Add(run);
    }
}
