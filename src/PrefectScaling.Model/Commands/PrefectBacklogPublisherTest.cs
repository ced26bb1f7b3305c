using System;
using System.Collections.Generic;

namespace PrefectScaling.Commands
{
    /// <summary>The result of Test-PrefectBacklogPublisher.</summary>
    public sealed class PrefectBacklogPublisherTest
    {
        public string Name { get; set; } = string.Empty;
        public bool Healthy { get; set; }
        public IReadOnlyList<string> Problems { get; set; } = Array.Empty<string>();
        public int Queues { get; set; }
        public int Published { get; set; }
        /// <summary>The data points the cycle built from the backlog; Published says how many were sent (none with -WhatIf).</summary>
        public int DataPoints { get; set; }
        public int PrefectRequests { get; set; }

        /// <summary>A publisher of bindings: each binding's part of the cycle.</summary>
        public IReadOnlyList<PublisherBindingResult> Bindings { get; set; } = Array.Empty<PublisherBindingResult>();
        public double DurationMs { get; set; }

        /// <summary>-Push: the HTTP status the function URL answered the test event with (null: not sent).</summary>
        public int? PushStatus { get; set; }

        /// <summary>-Push: the function's answer to the test event.</summary>
        public string? PushAnswer { get; set; }

        /// <summary>-Push: how long the test event's round trip took.</summary>
        public double? PushDurationMs { get; set; }
    }
}
