using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace PrefectScaling.Publisher
{
    /// <summary>What Install-PrefectBacklogPublisher was asked for.</summary>
    public sealed class PublisherInstallSpec
    {
        public const string DefaultName = "prefect-backlog-publisher";
        public const string Runtime = "dotnet10";
        public const string Handler = "PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle";
        public const string ManagedByTag = "ManagedBy";
        public const string ManagedByValue = "PrefectScaling";
        /// <summary>Names the publisher a resource belongs to (with ManagedBy, the proof the module made it).</summary>
        public const string PublisherTag = "PrefectScalingPublisher";
        public const int LogRetentionDays = 14;
        private static readonly Regex NamePattern = new Regex("^[A-Za-z0-9_-]{1,56}$", RegexOptions.CultureInvariant);

        public string Name { get; set; } = DefaultName;
        public PublisherConfiguration Configuration { get; set; } = new PublisherConfiguration();

        /// <summary>The Prefect secret, stored only in the SSM SecureString parameter.</summary>
        public string? Secret { get; set; }

        public string Schedule { get; set; } = "rate(1 minute)";

        /// <summary>A role the user manages; null: the installer creates a least-privilege one.</summary>
        public string? RoleArn { get; set; }

        public IReadOnlyList<string> SubnetIds { get; set; } = Array.Empty<string>();
        public IReadOnlyList<string> SecurityGroupIds { get; set; } = Array.Empty<string>();
        public IReadOnlyDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>();
        public int MemorySize { get; set; } = 512;

        /// <summary>No binding and no scope was asked for: the installed publisher keeps its bindings, and one of the
        /// first release that publishes for a service becomes a binding of that service (<see cref="Settle"/>).</summary>
        public bool KeepInstalledBindings { get; set; }

        /// <summary>-PerQueueSeries as given; null: as installed (on when converting a publisher of the first release,
        /// whose per-queue series its policies may read).</summary>
        public bool? PerQueueSeries { get; set; }

        /// <summary>-Push as given: the push path on (true) or removed (false); null: as installed.</summary>
        public bool? Push { get; set; }

        /// <summary>-PushUrl: where the Webhook block sends (a proxy in front of the function URL, or a local stand-in);
        /// null: the function URL.</summary>
        public Uri? PushUrl { get; set; }

        /// <summary>The function's reserved concurrency with the push path: at most this many invocations at once.</summary>
        public int PushConcurrency { get; set; } = PushPath.DefaultConcurrency;

        /// <summary>The automations' debounce (their trigger's within): at most one call per binding in this many seconds.</summary>
        public int PushWithinSeconds { get; set; } = PushPath.DefaultWithinSeconds;

        /// <summary>-ProtectBusyTasks as given; null: as installed (off for a new publisher).</summary>
        public bool? ProtectBusyTasks { get; set; }

        /// <summary>The deployment zip (the module ships it).</summary>
        public byte[] Package { get; set; } = Array.Empty<byte>();

        /// <summary>The names of everything the installer creates.</summary>
        public PublisherNames Names => new PublisherNames(Name);
        public bool InVpc => SubnetIds.Count > 0;

        /// <summary>Seconds: the function's timeout.</summary>
        public int Timeout => TimeoutFor(Configuration.SampleIntervalSeconds);

        /// <summary>Seconds kept for the AWS calls of an invocation (the secret at a cold start, the chain's
        /// SendMessageBatch, DescribeServices, PutMetricData).</summary>
        public const int AwsAllowanceSeconds = 30;

        /// <summary>The function's timeout: what one sample needs, whatever the interval, since every invocation
        /// takes one sample (<see cref="SampleChain"/>): one whole Prefect read within its deadline, and the AWS calls.
        /// The function gives a read only what is left of it (<see cref="PublisherCycle.PrefectBudget"/>), so a read is
        /// never cut off midway.</summary>
        public static int TimeoutFor(int sampleIntervalSeconds) =>
            Prefect.PrefectHttpOptions.DefaultDeadlineSeconds + AwsAllowanceSeconds;

        /// <summary>Everything the installer tags: ours, then the user's.</summary>
        public Dictionary<string, string> AllTags()
        {
            var tags = new Dictionary<string, string>(StringComparer.Ordinal) { [ManagedByTag] = ManagedByValue, [PublisherTag] = Name };
            foreach (KeyValuePair<string, string> tag in Tags) tags[tag.Key] = tag.Value;
            return tags;
        }

        /// <summary>Settles what depends on what is installed, and says what it decided (for the user): with
        /// <see cref="KeepInstalledBindings"/>, the installed bindings are kept, and a publisher of the first release
        /// for one service (PREFECTSCALING_CLUSTER/SERVICE) becomes a binding of that service with its scopes;
        /// -PerQueueSeries left out keeps the installed choice. Then validates again.</summary>
        public IReadOnlyList<string> Settle(PublisherState current)
        {
            var notes = new List<string>();
            PublisherConfiguration? installed = InstalledConfiguration(current);
            bool firstRelease = installed != null && !installed.UsesBindings;
            if (KeepInstalledBindings && installed != null)
            {
                if (installed.UsesBindings)
                {
                    IReadOnlyList<Bindings.ServiceBinding> stored = current.StoredBindings;
                    if (stored.Count == 0)
                        throw new ArgumentException("The publisher " + Name + " publishes for bindings, but none is left under " + Names.BindingsPath + ". Give its bindings again: -BindingFile, or -Cluster and -Service with -WorkPool/-WorkQueue.");
                    Configuration.Bindings = stored;
                    notes.Add("Keeping the " + stored.Count + " binding(s) the publisher " + Name + " has; -BindingFile or -Cluster/-Service replace them.");
                }
                else if (installed.Cluster != null && installed.Service != null)
                {
                    Bindings.BindingScope scope = PublisherBindings.ScopeOf(installed.Scopes, out string? why)
                        ?? throw new ArgumentException("The publisher " + Name + " of the first release publishes for " + Scaling.ScalingNames.ResourceId(installed.Cluster, installed.Service) + ", but " + why +
                            ", and a binding names its scope exactly. Convert it with -Cluster " + installed.Cluster + " -Service " + installed.Service + " and the exact -WorkPool/-WorkQueue it serves, or with -BindingFile.");
                    Configuration.Bindings = new[] { new Bindings.ServiceBinding(installed.Cluster, installed.Service, scope) };
                    notes.Add("Converting the publisher " + Name + " of the first release into a binding: " + Configuration.Bindings[0] + "; its per-queue series stay on (-PerQueueSeries:$false turns them off once no policy of the first release reads them).");
                }
            }
            if (Push == null) Push = installed?.PushSecretParameter != null;
            if (Configuration.Bindings.Count > 0 && PerQueueSeries == null)
                PerQueueSeries = installed?.UsesBindings == true ? installed.PerQueueSeries : firstRelease;
            if (Configuration.Bindings.Count > 0 && ProtectBusyTasks == null)
                ProtectBusyTasks = installed?.UsesBindings == true && installed.ProtectBusyTasks;
            if (Configuration.Bindings.Count == 0 && ProtectBusyTasks == true)
                throw new ArgumentException("-ProtectBusyTasks goes with bindings, and the publisher " + Name + " has none: give them with -BindingFile, or -Cluster and -Service.");
            if (Configuration.Bindings.Count == 0 && PerQueueSeries == true)
                throw new ArgumentException("-PerQueueSeries goes with bindings, and the publisher " + Name + " has none: give them with -BindingFile, or -Cluster and -Service.");
            Validate();
            return notes;
        }

        /// <summary>The configuration the installed function runs with, when it is the module's and can be read.</summary>
        private static PublisherConfiguration? InstalledConfiguration(PublisherState current)
        {
            if (!current.FunctionIsManaged || !(current.Function?["Configuration"]?["Environment"]?["Variables"] is System.Text.Json.Nodes.JsonObject variables)) return null;
            try
            {
                return PublisherConfiguration.FromEnvironment(name => (string?)variables[name]);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        /// <summary>Takes the Prefect URL and secret from resolved settings: the secret goes to the spec (and from there
        /// only to SSM), the configuration records only its kind.</summary>
        public void UsePrefectSettings(Prefect.PrefectConnectionSettings settings)
        {
            Configuration.ApiUrl = Prefect.PrefectConnectionSettings.Printable(settings.ApiUrl);
            Configuration.SecretKind = settings.AuthKind switch
            {
                Prefect.PrefectAuthKind.BearerApiKey => PublisherSecretKind.ApiKey,
                Prefect.PrefectAuthKind.BasicAuthString => PublisherSecretKind.AuthString,
                _ => PublisherSecretKind.None,
            };
            Secret = settings.Secret;
        }

        public void Validate()
        {
            if (!NamePattern.IsMatch(Name ?? string.Empty))
                throw new ArgumentException("The publisher name '" + Name + "' must be 1 to 56 letters, digits, '-' or '_' (it names the function, the rule and the role).");
            ScheduleExpression.Validate(Schedule);
            if (Configuration.SecretKind == PublisherSecretKind.None != string.IsNullOrEmpty(Secret))
                throw new ArgumentException("A secret kind needs a secret, and a secret needs a kind.");
            Configuration.SecretParameter = Configuration.SecretKind == PublisherSecretKind.None ? null : Names.SecretParameterName;
            Configuration.BindingsPath = Configuration.Bindings.Count > 0 ? Names.BindingsPath : null;
            if (Push == true && Configuration.Bindings.Count == 0 && !KeepInstalledBindings)
                throw new ArgumentException("-Push wakes bindings when their runs turn Late: give the publisher's bindings (-Cluster and -Service with -WorkPool/-WorkQueue, or -BindingFile).");
            Configuration.PushSecretParameter = Push == true && Configuration.Bindings.Count > 0 ? Names.PushSecretParameterName : null;
            if (PushConcurrency < 1 || PushConcurrency > 100)
                throw new ArgumentException("-PushConcurrency must be 1 to 100 (the function's reserved concurrency).");
            if (PushWithinSeconds < 0 || PushWithinSeconds > 3600)
                throw new ArgumentException("-PushWithinSeconds must be 0 to 3600.");
            if (PushUrl != null && (!PushUrl.IsAbsoluteUri || (PushUrl.Scheme != Uri.UriSchemeHttps && PushUrl.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(PushUrl.UserInfo)))
                throw new ArgumentException("-PushUrl must be an absolute http(s) URL without user info.");
            if (Configuration.Bindings.Count > 0) Configuration.PerQueueSeries = PerQueueSeries ?? false;
            if (Configuration.Bindings.Count > 0) Configuration.ProtectBusyTasks = ProtectBusyTasks ?? false;
            else if (ProtectBusyTasks == true && !KeepInstalledBindings)
                throw new ArgumentException("-ProtectBusyTasks goes with bindings (-Cluster and -Service, or -BindingFile): it protects the tasks of the bound services.");
            else if (PerQueueSeries == true && !KeepInstalledBindings)
                throw new ArgumentException("-PerQueueSeries goes with bindings (-Cluster and -Service, or -BindingFile): a publisher without them publishes per-queue series anyway.");
            Configuration.Validate();
            if ((SubnetIds.Count == 0) != (SecurityGroupIds.Count == 0))
                throw new ArgumentException("-SubnetId and -SecurityGroupId go together: a function in a VPC needs both.");
            if (RoleArn != null && !RoleArn.StartsWith("arn:", StringComparison.Ordinal))
                throw new ArgumentException("-RoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), not '" + RoleArn + "'.");
            if (MemorySize < 128 || MemorySize > 10240)
                throw new ArgumentException("The memory size must be 128 to 10240 MB.");
            foreach (string key in Tags.Keys)
            {
                if (string.IsNullOrWhiteSpace(key) || key.Length > 128 || key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException("The tag key '" + key + "' is not allowed (1 to 128 characters, not starting with aws:).");
                if (key == ManagedByTag || key == PublisherTag)
                    throw new ArgumentException("The tag key '" + key + "' is the module's own.");
            }
            if (Package.Length == 0) throw new ArgumentException("The publisher's deployment package is empty or missing; rebuild the module.");
            if (Package.Length > 50 * 1024 * 1024) throw new ArgumentException("The deployment package is over Lambda's 50 MB direct-upload limit.");
        }
    }
}
