using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Completion;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Publishes backlog counts as CloudWatch custom metrics, batching the whole pipeline into as few
    /// PutMetricData calls as the limits allow, sent at the end of the pipeline. Alone, one series per queue; with
    /// -Cluster and -Service, the service's binding series: the counts added into one total per measure and the
    /// service's desired task count (per-queue series too with -PerQueueSeries).</summary>
    [Cmdlet(VerbsData.Publish, "PrefectBacklogMetric", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = BacklogSet)]
    [OutputType(typeof(BacklogMetricDatum))]
    public sealed class PublishPrefectBacklogMetricCommand : BacklogPublishingCmdlet
    {
        private readonly List<BacklogMetricDatum> _perQueue = new List<BacklogMetricDatum>();
        private readonly List<BacklogSample> _binding = new List<BacklogSample>();
        private readonly HashSet<BacklogMeasure> _measures = new HashSet<BacklogMeasure>();
        private BacklogMetricOptions? _options;
        private int _refused;

        /// <summary>The work queue the count belongs to; with -Cluster and -Service it may be left out (a total).</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = BacklogSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(Position = 0, ParameterSetName = BindingSet, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? WorkQueue { get; set; }

        /// <summary>The count to publish.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        public double Count { get; set; }

        /// <summary>The work pool of the queue, when known: published as the WorkPool dimension.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        public string? WorkPool { get; set; }

        /// <summary>When the count was measured; defaults to now.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public DateTime Timestamp { get; set; }

        /// <summary>What the count measures; picks the default metric name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        /// <summary>With -Cluster and -Service: also a series per queue (each series costs; off by default).</summary>
        [Parameter(ParameterSetName = BindingSet)]
        public SwitchParameter PerQueueSeries { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            BacklogMetricOptions options = MetricOptions();
            Guard(Namespace, () => options.Validate(), terminating: true);
            _options = options;
        }

        protected override void ProcessRecord()
        {
            if (_options == null) return;
            var sample = new BacklogSample { WorkPool = WorkPool, WorkQueue = WorkQueue ?? string.Empty, Measure = Measure, Count = Count, Timestamp = Timestamp };
            string target = WorkQueue == null ? "the " + Measure + " total" : WorkPool == null ? WorkQueue : WorkPool + "/" + WorkQueue;
            // A bad input is not published; without a binding the others still are.
            bool taken = Guard(target, () =>
            {
                DateTime now = DateTime.UtcNow;
                if (!PublishesPerTask)
                {
                    _perQueue.Add(BacklogMetricBuilder.Build(sample, _options, now));
                }
                else
                {
                    BacklogMetricBuilder.CheckCount(sample, target, now);
                    if (PerQueueSeries)
                    {
                        if (WorkQueue == null) throw new ArgumentException("-PerQueueSeries publishes a series per work queue, but " + target + " names no queue; leave out -PerQueueSeries to publish totals.");
                        _perQueue.Add(BacklogMetricBuilder.Build(sample, _options, now));
                    }
                    _binding.Add(sample);
                }
                _measures.Add(Measure);
            });
            if (!taken) _refused++;
        }

        protected override void EndProcessing()
        {
            if (_options == null) return;
            if (PublishesPerTask && _refused > 0)
            {
                ThrowTerminatingError(ErrorRecords.From(new ArgumentException("Nothing was published for " + ScalingNames.ResourceId(Cluster!, Service!) + ": " + _refused +
                    " input(s) were refused, and a total without them would be a number nobody measured."), Cluster + "/" + Service));
            }
            if (_perQueue.Count == 0 && _binding.Count == 0) return;
            // InFlight keeps its own name beside a binding's backlog (the busy guard reads it there).
            if (MetricName != null && _measures.Count(m => !(PublishesPerTask && m == BacklogMeasure.InFlight)) > 1)
            {
                ThrowTerminatingError(ErrorRecords.From(new ArgumentException(
                    "-MetricName names one metric, but the input has several measures; publish each measure separately or leave -MetricName out."), MetricName));
            }
            List<BacklogMetricDatum> approved = new List<BacklogMetricDatum>();
            Guard(Namespace, () =>
            {
                AwsContext aws = Aws;
                var data = new List<BacklogMetricDatum>();
                if (PublishesPerTask)
                {
                    if (!_measures.Contains(BacklogMeasure.InFlight))
                        WriteWarning("The input has no InFlight count, so " + ScalingNames.ResourceId(Cluster!, Service!) + " gets no InFlight or UnprotectedInFlight datum and its busy guard holds scale-in " +
                            "(missing data never scales in). Count InFlight too, such as Get-PrefectLateRunCount -Measure Late, InFlight.");
                    int desired = RunEngine((log, ct) => PerTaskMetrics.ReadDesiredCountAsync(aws, Cluster!, Service!, log, ct));
                    data.AddRange(BindingData.Build(Cluster!, Service!, _binding, desired, _options, DateTime.UtcNow));
                }
                data.AddRange(BacklogMetricBuilder.Combine(_perQueue));
                approved = data.Where(d => ShouldProcess(d.ToString(), "Publish CloudWatch metric")).ToList();
                if (approved.Count == 0) return;
                var publisher = new MetricPublisher(aws);
                int calls = RunEngine((log, ct) => publisher.PublishAsync(approved, log, ct));
                WriteVerbose("Published " + approved.Count + " datum(s) in " + calls + " PutMetricData call(s).");
            }, terminating: true);
            if (PassThru) foreach (BacklogMetricDatum datum in approved) WriteObject(datum);
        }
    }
}
