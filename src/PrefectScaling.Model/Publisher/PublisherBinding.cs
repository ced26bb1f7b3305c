using System;

namespace PrefectScaling.Publisher
{
    /// <summary>One binding of an installed publisher, as Get-PrefectBacklogPublisher lists it: an ECS service, the
    /// scope its agents or workers serve, and when its backlog was last published. Cluster and Service bind to the
    /// scaling cmdlets down a pipeline.</summary>
    public sealed class PublisherBinding
    {
        /// <summary>The publisher that publishes for it.</summary>
        public string Publisher { get; set; } = string.Empty;

        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;

        /// <summary>The scope as people read it: "pool k8s", "pool k8s queues a, b", "queues a, b (any pool)".</summary>
        public string Scope { get; set; } = string.Empty;

        /// <summary>service/cluster/service.</summary>
        public string ResourceId { get; set; } = string.Empty;

        /// <summary>When the binding's first measure last had a datum in CloudWatch (UTC, to the minute); null when it had
        /// none within <see cref="LastPublishedWindowHours"/> hours, or it could not be read.</summary>
        public DateTime? LastPublished { get; set; }

        /// <summary>With -ProtectBusyTasks: the in-flight runs the publisher's latest log line names as on no protected
        /// task, each "run &lt;id&gt;: why"; empty when it named none, null when there is no such line.</summary>
        public string[]? UnprotectedRuns { get; set; }

        /// <summary>How far back LastPublished looks.</summary>
        public const int LastPublishedWindowHours = 3;

        public override string ToString() => ResourceId + " <- " + Scope;
    }
}
