using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Completion;
using PrefectScaling.Metrics;

namespace PrefectScaling.Commands
{
    /// <summary>Publishes backlog counts as CloudWatch custom metrics, batching the whole pipeline into as few
    /// PutMetricData calls as the limits allow, sent at the end of the pipeline.</summary>
    [Cmdlet(VerbsData.Publish, "PrefectBacklogMetric", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = BacklogSet)]
    [OutputType(typeof(BacklogMetricDatum))]
    public sealed class PublishPrefectBacklogMetricCommand : BacklogPublishingCmdlet
    {
        private readonly List<BacklogMetricDatum> _data = new List<BacklogMetricDatum>();
        private readonly HashSet<BacklogMeasure> _measures = new HashSet<BacklogMeasure>();
        private BacklogMetricOptions? _options;

        /// <summary>The work queue the count belongs to.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string WorkQueue { get; set; } = string.Empty;

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
            var sample = new BacklogSample { WorkPool = WorkPool, WorkQueue = WorkQueue, Measure = Measure, Count = Count, Timestamp = Timestamp };
            // A bad input is not published; the others still are.
            Guard(WorkPool == null ? WorkQueue : WorkPool + "/" + WorkQueue, () =>
            {
                _data.Add(BacklogMetricBuilder.Build(sample, _options, DateTime.UtcNow));
                _measures.Add(Measure);
            });
        }

        protected override void EndProcessing()
        {
            if (_options == null || _data.Count == 0) return;
            if (MetricName != null && _measures.Count > 1)
            {
                ThrowTerminatingError(ErrorRecords.From(new ArgumentException(
                    "-MetricName names one metric, but the input has several measures; publish each measure separately or leave -MetricName out."), MetricName));
            }
            List<BacklogMetricDatum> data = BacklogMetricBuilder.Combine(_data);
            List<BacklogMetricDatum> approved = new List<BacklogMetricDatum>();
            Guard(Namespace, () =>
            {
                AwsContext aws = Aws;
                if (PublishesPerTask)
                {
                    int desired = RunEngine((log, ct) => PerTaskMetrics.ReadDesiredCountAsync(aws, Cluster!, Service!, log, ct));
                    data.AddRange(PerTaskMetrics.Derive(data, _options, Cluster!, Service!, desired, DateTime.UtcNow));
                }
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
