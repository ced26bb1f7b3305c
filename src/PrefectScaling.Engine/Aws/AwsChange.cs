using System;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Aws
{
    /// <summary>One AWS change, described for -WhatIf/-Confirm before it is made. Plans are lists of these,
    /// applied in order; a plan that finds everything as wanted is empty.</summary>
    public sealed class AwsChange
    {
        public AwsChange(string target, string action, Func<IEngineLog, CancellationToken, Task> apply)
        {
            Target = target;
            Action = action;
            Apply = apply;
        }

        /// <summary>The resource: a name or an ARN.</summary>
        public string Target { get; }

        /// <summary>What is done to it, as a user reads it ("Create Lambda function").</summary>
        public string Action { get; }

        public Func<IEngineLog, CancellationToken, Task> Apply { get; }

        public override string ToString() => Action + ": " + Target;
    }
}
