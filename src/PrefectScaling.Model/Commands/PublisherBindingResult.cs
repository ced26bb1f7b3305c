namespace PrefectScaling.Commands
{
    /// <summary>One binding in Test-PrefectBacklogPublisher's cycle: what it published, or why nothing.</summary>
    public sealed class PublisherBindingResult
    {
        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;
        public string Scope { get; set; } = string.Empty;

        /// <summary>The data points built for it (sent unless -WhatIf).</summary>
        public int DataPoints { get; set; }

        /// <summary>Why it published nothing; null when it was read.</summary>
        public string? Problem { get; set; }

        /// <summary>With -ProtectBusyTasks: the ids of the busy tasks protected now (with -WhatIf, that would be).</summary>
        public string[]? ProtectedTasks { get; set; }

        /// <summary>With -ProtectBusyTasks: the ids of the idle tasks whose protection was released.</summary>
        public string[]? ReleasedTasks { get; set; }

        /// <summary>With -ProtectBusyTasks: the in-flight runs on no protected task, each "id (name): why". While any is
        /// here, the busy guard keeps scale-in off.</summary>
        public string[]? UnprotectedRuns { get; set; }

        /// <summary>With -ProtectBusyTasks: why protection covered nothing this cycle; null when it worked.</summary>
        public string? ProtectionProblem { get; set; }

        public override string ToString() => "service/" + Cluster + "/" + Service + (Problem == null ? ": " + DataPoints + " data points" : ": " + Problem);
    }
}
