using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Commands;
using PrefectScaling.Publisher;
using PrefectScaling.Scaling;

namespace PrefectScaling.Completion
{
    /// <summary>Tab completion of names that AWS lists. The AWS settings are the ones the command would use: the AWS
    /// parameters typed so far, $StoredAWSRegion and $StoredAWSCredentials, then the environment and profiles.</summary>
    public abstract class AwsNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                AwsSettingsInput input = TypedSettings(fakeBoundParameters);
                string key = GetType().Name + "|" + ListingScope(fakeBoundParameters) + "|" + input.EndpointUrl + "|" + input.Region + "|" + input.StoredRegion + "|"
                    + input.ProfileName + "|" + input.ProfileLocation + "|" + input.AccessKey + "|" + input.Credential?.GetHashCode() + "|" + input.StoredCredentials?.GetHashCode();
                IReadOnlyList<string> names = CompletionListings.Get(key, async cancellationToken =>
                {
                    using AwsContext aws = AwsContext.Create(input, Environment.GetEnvironmentVariable, PrefectCmdlet.HomeDirectory());
                    return await ListAsync(aws, fakeBoundParameters, cancellationToken).ConfigureAwait(false);
                });
                return CompletionListings.Matching(names, wordToComplete);
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }

        /// <summary>What else the listing depends on (the cluster of a service listing).</summary>
        protected virtual string ListingScope(IDictionary fakeBoundParameters) => string.Empty;

        protected abstract Task<IReadOnlyList<string>> ListAsync(AwsContext aws, IDictionary fakeBoundParameters, CancellationToken cancellationToken);

        internal static string? Text(IDictionary bound, string name) => bound[name] is string text && !string.IsNullOrWhiteSpace(text) ? text : null;

        private static AwsSettingsInput TypedSettings(IDictionary bound) => new AwsSettingsInput
        {
            Region = Text(bound, "Region"),
            StoredRegion = SessionVariable("StoredAWSRegion") as string,
            ProfileName = Text(bound, "ProfileName"),
            ProfileLocation = ProviderPath(Text(bound, "ProfileLocation")),
            AccessKey = Text(bound, "AccessKey"),
            SecretKey = Text(bound, "SecretKey"),
            SessionToken = Text(bound, "SessionToken"),
            Credential = Unwrap(bound["Credential"]),
            StoredCredentials = SessionVariable("StoredAWSCredentials"),
            EndpointUrl = Text(bound, "EndpointUrl"),
        };

        /// <summary>A path as the command would resolve it: from PowerShell's current location, not the process's.</summary>
        internal static string? ProviderPath(string? path) =>
            path == null ? null : InSession("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])", path) as string ?? path;

        /// <summary>A global variable of the session that asks for completion, such as Set-DefaultAWSRegion leaves.</summary>
        private static object? SessionVariable(string name) => InSession("Get-Variable -Scope Global -Name $args[0] -ValueOnly -ErrorAction Ignore", name);

        /// <summary>Runs a line in the session asking for completion (a completer runs on its pipeline thread, where
        /// the runspace's SessionStateProxy refuses calls); null when it fails.</summary>
        private static object? InSession(string script, string argument)
        {
            try
            {
                return Unwrap(ScriptBlock.Create(script).InvokeReturnAsIs(argument));
            }
            catch (Exception e) when (e is RuntimeException || e is InvalidOperationException)
            {
                return null;
            }
        }

        private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;
    }

    /// <summary>Completes -Cluster from ECS ListClusters.</summary>
    public sealed class EcsClusterNameCompleter : AwsNameCompleter
    {
        protected override Task<IReadOnlyList<string>> ListAsync(AwsContext aws, IDictionary bound, CancellationToken cancellationToken) =>
            EcsServiceNames.ListClustersAsync(aws, NullEngineLog.Instance, cancellationToken);
    }

    /// <summary>Completes -Service from ECS ListServices of the -Cluster typed (else ECS's default cluster).</summary>
    public sealed class EcsServiceNameCompleter : AwsNameCompleter
    {
        protected override string ListingScope(IDictionary bound) => Text(bound, "Cluster") ?? string.Empty;

        protected override Task<IReadOnlyList<string>> ListAsync(AwsContext aws, IDictionary bound, CancellationToken cancellationToken) =>
            EcsServiceNames.ListServicesAsync(aws, Text(bound, "Cluster"), NullEngineLog.Instance, cancellationToken);
    }

    /// <summary>Completes a publisher's -Name from the Lambda functions that run the publisher.</summary>
    public sealed class PublisherNameCompleter : AwsNameCompleter
    {
        protected override Task<IReadOnlyList<string>> ListAsync(AwsContext aws, IDictionary bound, CancellationToken cancellationToken) =>
            InstalledPublishers.ListNamesAsync(aws, NullEngineLog.Instance, cancellationToken);
    }

    /// <summary>Completes -ProfileName from the shared AWS credentials and config files (-ProfileLocation if typed).</summary>
    public sealed class AwsProfileNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                return CompletionListings.Matching(AwsProfiles.Names(AwsNameCompleter.ProviderPath(AwsNameCompleter.Text(fakeBoundParameters, "ProfileLocation")), Environment.GetEnvironmentVariable, PrefectCmdlet.HomeDirectory()), wordToComplete);
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }
    }
}
