using System;

namespace PrefectScaling.Publisher
{
    /// <summary>Thrown by the handler when an invocation did not publish the whole backlog, so that Lambda counts it as
    /// an error. It carries only the scrubbed message (no inner exception that could echo a secret).</summary>
    public sealed class PublisherFailedException : Exception
    {
        public PublisherFailedException(string source, string kind, string message)
            : base(message)
        {
            Source = source;
            Kind = kind;
        }

        /// <summary>prefect, aws, configuration or publisher.</summary>
        public new string Source { get; }

        /// <summary>The error kind, as in the log line.</summary>
        public string Kind { get; }
    }
}
