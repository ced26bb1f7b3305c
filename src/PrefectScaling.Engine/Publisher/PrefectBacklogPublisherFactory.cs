using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher
{
    /// <summary>Builds the report Get-PrefectBacklogPublisher shows from what was read. The report type lives in the
    /// Model, which has no JSON; an extension keeps the call PrefectBacklogPublisher.From(state).</summary>
    public static class PrefectBacklogPublisherFactory
    {
        extension(PrefectBacklogPublisher)
        {
            /// <summary>What is installed, and whether its parts fit together.</summary>
            public static PrefectBacklogPublisher From(PublisherState state) => Build(state, out _);

            /// <summary>The same, and the configuration the function runs with (null when it cannot be read).</summary>
            public static PrefectBacklogPublisher From(PublisherState state, out PublisherConfiguration? configuration) => Build(state, out configuration);
        }

        /// <summary>A binding as Get-PrefectBacklogPublisher lists it (its last datum is read separately).</summary>
        public static PublisherBinding Listed(string publisher, ServiceBinding binding) => new PublisherBinding
        {
            Publisher = publisher,
            Cluster = binding.Cluster,
            Service = binding.Service,
            Scope = binding.Scope.ToString(),
            ResourceId = binding.ResourceId,
        };

        /// <summary>The stored bindings are the set the function was installed with (the stamp), and there is one.</summary>
        private static IEnumerable<string> BindingProblems(PublisherState state, PublisherConfiguration read)
        {
            IReadOnlyList<ServiceBinding> stored = state.StoredBindings;
            if (stored.Count == 0)
                yield return "No binding is stored under " + state.Names.BindingsPath + ": the function publishes nothing. Run Install-PrefectBacklogPublisher with -BindingFile.";
            else if (PublisherBindings.Stamp(stored) != read.BindingsStamp)
                yield return "The " + stored.Count + " binding(s) stored under " + state.Names.BindingsPath + " are not the set the function was installed with: an install did not finish. Run Install-PrefectBacklogPublisher again.";
        }

        private static PrefectBacklogPublisher Build(PublisherState state, out PublisherConfiguration? read)
        {
            read = null;
            var problems = new List<string>();
            // Only the module's own function and rule count; one of that name that somebody else made is not this publisher.
            JsonObject? function = state.FunctionIsManaged ? state.Function : null;
            JsonObject? rule = state.RuleIsManaged ? state.Rule : null;
            JsonNode? configuration = function?["Configuration"];
            var info = new PrefectBacklogPublisher
            {
                Name = state.Name,
                Region = state.Region,
                Installed = function != null || rule != null,
                FunctionArn = (string?)configuration?["FunctionArn"],
                Runtime = (string?)configuration?["Runtime"],
                Handler = (string?)configuration?["Handler"],
                RoleArn = (string?)configuration?["Role"],
                LastModified = (string?)configuration?["LastModified"],
                CodeSize = configuration?["CodeSize"] is JsonValue size && size.TryGetValue(out long bytes) ? bytes : (long?)null,
                Schedule = (string?)rule?["ScheduleExpression"],
                RuleState = (string?)rule?["State"],
                Found = state.Found(),
                NotOwned = state.NotOwned(),
                Bindings = state.StoredBindings.Select(b => Listed(state.Name, b)).ToList(),
            };
            var notOwned = info.NotOwned.Select(o => "Not the module's, left alone: " + o + ".").ToList();
            if (!info.Installed)
            {
                if (info.Found.Count > 0)
                {
                    info.PartlyInstalled = true;
                    problems.Add("Partly installed: an Install-PrefectBacklogPublisher did not finish. Found " + string.Join(", ", info.Found) + " in " + state.Region +
                        ", but no function and no rule. Run Install-PrefectBacklogPublisher -Name " + state.Name + " again to finish it, or Uninstall-PrefectBacklogPublisher -Name " + state.Name + " to remove what is there.");
                }
                else
                {
                    problems.Add("Not installed: no function and no rule named " + state.Name + " in " + state.Region + ".");
                }
                problems.AddRange(notOwned);
                info.Problems = problems;
                return info;
            }

            problems.AddRange(notOwned);
            if (function == null) problems.Add("The Lambda function " + state.Name + " is missing.");
            else
            {
                if (info.Runtime != PublisherInstallSpec.Runtime) problems.Add("The function runs on " + info.Runtime + ", not " + PublisherInstallSpec.Runtime + ".");
                if (info.Handler != PublisherInstallSpec.Handler) problems.Add("The function's handler is not the publisher's.");
                try
                {
                    JsonObject? variables = configuration?["Environment"]?["Variables"] as JsonObject;
                    read = PublisherConfiguration.FromEnvironment(name => (string?)variables?[name]);
                    info.ApiUrl = read.ApiUrl;
                    info.Scopes = read.UsesBindings ? state.StoredBindings.Count + " binding(s)" : read.Scopes.Count == 0 ? "all work queues" : string.Join("; ", read.Scopes);
                    info.PerQueueSeries = read.PerQueueSeries;
                    info.ProtectBusyTasks = read.ProtectBusyTasks;
                    if (read.UsesBindings) problems.AddRange(BindingProblems(state, read));
                    info.Measures = string.Join(",", read.Measures);
                    info.Namespace = read.Metric.Namespace;
                    info.SampleIntervalSeconds = read.SampleIntervalSeconds;
                    info.SecretParameter = read.SecretParameter;
                    if (info.SecretParameter != null && !state.SecretParameterExists) problems.Add("The SSM parameter " + info.SecretParameter + " with the Prefect secret is missing.");
                }
                catch (ArgumentException e)
                {
                    problems.Add("The function's configuration cannot be read: " + e.Message);
                }
                if (info.RoleArn == state.ManagedRoleArn && state.Role == null) problems.Add("The function's role " + info.RoleArn + " is missing.");
            }
            if (rule == null) problems.Add("The EventBridge rule " + state.Name + " is missing: nothing runs the function.");
            else
            {
                if (info.RuleState != "ENABLED") problems.Add("The EventBridge rule is " + info.RuleState + ".");
                if (state.Target == null) problems.Add("The rule has no target: it runs nothing.");
                else if ((string?)state.Target["Arn"] != state.FunctionArn) problems.Add("The rule's target is " + (string?)state.Target["Arn"] + ", not the function.");
            }
            if (function != null && state.Permission == null) problems.Add("The function has no permission for the rule to invoke it.");
            problems.AddRange(PublisherQueuePlan.Problems(state, read));
            info.Problems = problems;
            info.Consistent = problems.Count == 0;
            return info;
        }
    }
}
