namespace PrefectScaling.Testing.PrefectEmulator.Tests;

/// <summary>What the acceptance tests seed the emulator with, as objects and as the seed file's JSON.</summary>
internal static class Seeds
{
    /// <summary>The pools, queues and runs the acceptance tests read back: a process pool with two queues, the agent
    /// pool with a legacy queue, and runs that are late, scheduled, pending and running.</summary>
    public static EmulatorSeed Acceptance() => new()
    {
        Pools =
        {
            new SeedPool
            {
                Name = "acceptance-pool", Type = "process",
                Queues = { new SeedQueue { Name = "default", Priority = 1 }, new SeedQueue { Name = "acceptance-queue", Priority = 2 } },
            },
            new SeedPool { Name = "default-agent-pool", Type = "prefect-agent", Queues = { new SeedQueue { Name = "acceptance-legacy-queue" } } },
        },
        Runs =
        {
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "SCHEDULED", StateName = "Late", ScheduledOffsetSeconds = -600, Count = 2 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "SCHEDULED", StateName = "Scheduled", ScheduledOffsetSeconds = 3600 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "PENDING", ScheduledOffsetSeconds = -30 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "RUNNING", ScheduledOffsetSeconds = -120 },
        },
    };

    public const string AcceptanceSeedJson = """
    {
      "pools": [
        { "name": "acceptance-pool", "type": "process", "is_paused": false, "concurrency_limit": null,
          "queues": [ { "name": "default", "priority": 1, "is_paused": false, "concurrency_limit": null, "last_polled_offset_seconds": null },
                      { "name": "acceptance-queue", "priority": 2 } ] },
        { "name": "default-agent-pool", "type": "prefect-agent", "queues": [ { "name": "acceptance-legacy-queue" } ] }
      ],
      "runs": [
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "SCHEDULED", "state_name": "Late", "scheduled_offset_seconds": -600, "count": 2, "tags": [] },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "SCHEDULED", "state_name": "Scheduled", "scheduled_offset_seconds": 3600 },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "PENDING", "scheduled_offset_seconds": -30 },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "RUNNING", "scheduled_offset_seconds": -120 }
      ]
    }
    """;
}
