using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Checks an installed publisher and runs one cycle with its configuration from this machine, reporting
    /// each binding (one that cannot be read is a problem; the others still publish). An
    /// unhealthy publisher is also a non-terminating error (PrefectBacklogPublisherUnhealthy), written after the
    /// report, so that a check step with -ErrorAction Stop fails. -WhatIf reads the backlog but publishes nothing.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "PrefectBacklogPublisher", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(PrefectBacklogPublisherTest))]
    public sealed class TestPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        internal const string UnhealthyErrorId = "PrefectBacklogPublisherUnhealthy";

        /// <summary>Also send one authenticated test event through the push path's URL and show the answer.</summary>
        [Parameter]
        public SwitchParameter Push { get; set; }

        /// <summary>Where the test event goes instead of the function URL (as Install's -PushUrl).</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? PushUrl { get; set; }

        protected override void ProcessRecord()
        {
            // No region or credentials: a usage error, not a finding about the publisher.
            if (!Guard(Name, () => { _ = Aws; })) return;
            var result = new PrefectBacklogPublisherTest { Name = Name };
            var problems = new List<string>();
            AwsContext aws = Aws;
            try
            {
                var installer = new PublisherInstaller(aws);
                PrefectBacklogPublisher installed = PrefectBacklogPublisher.From(RunEngine((log, ct) => installer.ReadAsync(Name, withSecretHash: false, log, ct)), out PublisherConfiguration? read);
                problems.AddRange(installed.Problems);
                if (read != null)
                {
                    PublisherConfiguration configuration = read;
                    // Asked before the cycle: declined (or -WhatIf), the cycle still reads, and sends nothing.
                    bool publish = ShouldProcess(configuration.Metric.Namespace + " metrics of " + Name, "Publish one cycle of backlog metrics to CloudWatch");
                    PublisherCycleResult cycle = RunEngine(async (log, ct) =>
                    {
                        PrefectConnectionSettings settings = await PublisherCycle.ResolvePrefectSettingsAsync(configuration, aws, log, ct).ConfigureAwait(false);
                        return await new PublisherCycle(configuration, PrefectConnection.For(settings), aws).RunAsync(log, ct, publish: publish).ConfigureAwait(false);
                    });
                    result.Bindings = cycle.Bindings.Select(b => new PublisherBindingResult
                    {
                        Cluster = b.Binding.Cluster,
                        Service = b.Binding.Service,
                        Scope = b.Binding.Scope.ToString(),
                        DataPoints = b.Data.Count,
                        Problem = b.Failure?.Message,
                        ProtectedTasks = b.Protection?.ProtectedTasks.ToArray(),
                        ReleasedTasks = b.Protection?.ReleasedTasks.ToArray(),
                        UnprotectedRuns = b.Protection?.UnprotectedRuns.Select(u => u.Run + ": " + u.Why).ToArray(),
                        ProtectionProblem = b.Protection?.Failure?.Message,
                    }).ToList();
                    problems.AddRange(cycle.FailedBindings.Select(b => "The binding of " + b.Binding.ResourceId + " published nothing: " + b.Failure!.Message));
                    // A run that cannot be tied to a task is a finding of the cycle; protection that cannot work at all is a fault.
                    problems.AddRange(cycle.Bindings.Where(b => b.Protection?.Failure != null)
                        .Select(b => "Task protection of " + b.Binding.ResourceId + " protected nothing (its in-flight runs all keep the busy guard on): " + b.Protection!.Failure!.Message));
                    // Capacity policies: what the cycle changed, or with -WhatIf would change, and what it could not.
                    problems.AddRange(cycle.Capacity.Where(c => c.Failure != null).Select(c => "The capacity of " + c.Binding.ResourceId + " was left as it was: " + c.Failure!.Message));
                    foreach (CapacityOutcome change in cycle.Capacity.Where(c => c.Failure == null && c.MinCapacityAfter != c.MinCapacityBefore))
                    {
                        string action = "Set MinCapacity from " + change.MinCapacityBefore + " to " + change.MinCapacityAfter + " (" + change.Requirement!.Reason + ")";
                        if (change.Applied) WriteVerbose(change.Binding.ResourceId + ": " + action + ".");
                        else if (MyInvocation.BoundParameters.ContainsKey("WhatIf")) ShouldProcess(change.Binding.ResourceId, action);
                    }
                    result.Queues = cycle.Queues;
                    result.Published = cycle.Published;
                    result.DataPoints = cycle.Data.Count;
                    result.PrefectRequests = cycle.PrefectRequests;
                    result.DurationMs = Math.Round(cycle.DurationMs, 1);
                }
                if (Push || PushUrl != null)
                {
                    (int status, string answer, TimeSpan took) = RunEngine((log, ct) => installer.Push(null).TestAsync(new PublisherNames(Name), PushUrl, log, ct));
                    result.PushStatus = status;
                    result.PushAnswer = answer;
                    result.PushDurationMs = Math.Round(took.TotalMilliseconds, 1);
                    if (status != 200) problems.Add("The push URL answered the test event with HTTP " + status + ": " + answer);
                }
            }
            catch (Exception e) when (ErrorRecords.IsEngineFailure(e))
            {
                // Every failure is a finding of the check, reported in Problems and as the unhealthy error below.
                problems.Add(e.Message);
            }
            result.Problems = problems;
            result.Healthy = problems.Count == 0;
            WriteObject(result);
            if (!result.Healthy)
            {
                var error = new InvalidOperationException("The publisher " + Name + " in " + aws.Region + " is not healthy: " + string.Join(" ", problems));
                WriteError(new ErrorRecord(error, UnhealthyErrorId, ErrorCategory.InvalidResult, result)
                {
                    ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = "Get-PrefectBacklogPublisher shows each part; Install-PrefectBacklogPublisher repairs what is missing." },
                });
            }
        }
    }
}
