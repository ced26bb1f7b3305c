using System;
using System.Collections.Generic;

namespace PrefectScaling.Publisher
{
    /// <summary>An installed publisher as Get-PrefectBacklogPublisher shows it, with whether its parts fit together.
    /// The engine builds it from what it read (PrefectBacklogPublisherFactory).</summary>
    public sealed class PrefectBacklogPublisher
    {
        public string Name { get; set; } = string.Empty;
        public string Region { get; set; } = string.Empty;
        public bool Installed { get; set; }
        public string? FunctionArn { get; set; }
        public string? Runtime { get; set; }
        public string? Handler { get; set; }
        public string? Schedule { get; set; }
        public string? RuleState { get; set; }
        public string? ApiUrl { get; set; }
        /// <summary>What a publisher of the first release counts ("all work queues", or its selectors); for a publisher
        /// of bindings, how many it has.</summary>
        public string? Scopes { get; set; }

        /// <summary>The services it publishes for, each with its scope (none for a publisher of the first release).</summary>
        public IReadOnlyList<PublisherBinding> Bindings { get; set; } = Array.Empty<PublisherBinding>();

        /// <summary>A publisher of bindings also publishes a series per queue.</summary>
        public bool PerQueueSeries { get; set; }

        /// <summary>A publisher of bindings protects its services' busy tasks from scale-in (-ProtectBusyTasks).</summary>
        public bool ProtectBusyTasks { get; set; }

        /// <summary>With ProtectBusyTasks: when the latest log line that reported protection was written (the bindings'
        /// UnprotectedRuns come from it); null when none was found in the last <see cref="ProtectionReportWindowMinutes"/> minutes.</summary>
        public DateTime? ProtectionReportedAt { get; set; }

        public const int ProtectionReportWindowMinutes = 15;
        public string? Measures { get; set; }
        public string? Namespace { get; set; }
        public int? SampleIntervalSeconds { get; set; }
        public string? SecretParameter { get; set; }
        public string? RoleArn { get; set; }
        public string? LastModified { get; set; }
        public long? CodeSize { get; set; }
        public bool Consistent { get; set; }

        /// <summary>Parts of the module's exist but neither function nor rule: an Install that did not finish.</summary>
        public bool PartlyInstalled { get; set; }

        /// <summary>The module's parts that exist ("IAM role prefect-backlog-publisher-role", ...).</summary>
        public IReadOnlyList<string> Found { get; set; } = Array.Empty<string>();

        /// <summary>Resources with the publisher's names that the module did not make; Uninstall leaves them alone.</summary>
        public IReadOnlyList<string> NotOwned { get; set; } = Array.Empty<string>();

        public IReadOnlyList<string> Problems { get; set; } = Array.Empty<string>();

        /// <summary>The push path: the function URL Prefect's webhook calls (null: the push path is off).</summary>
        public string? PushUrl { get; set; }

        /// <summary>The push path: the function's reserved concurrency.</summary>
        public int? PushConcurrency { get; set; }

        /// <summary>The push path: how many of the module's automations the Prefect server holds for this publisher
        /// (null: not read).</summary>
        public int? PushAutomations { get; set; }
    }
}
