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

        public override string ToString() => "service/" + Cluster + "/" + Service + (Problem == null ? ": " + DataPoints + " data points" : ": " + Problem);
    }
}
