using System.Collections;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher.Tests;

/// <summary>A publisher's bindings without AWS: a binding file's entries, the environment and its stamp, the
/// parameters the installer plans, the role's policy, and the conversion of a publisher of the first release.</summary>
public sealed class PublisherBindingsTests : IDisposable
{
    private const string Account = "123456789012";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    /// <summary>A binding file's data as Import-PowerShellDataFile returns it (hashtables, object[] lists).</summary>
    private static Hashtable File(params object[] entries) => new(StringComparer.OrdinalIgnoreCase) { ["Bindings"] = entries };

    private static Hashtable Entry(params (string Key, object Value)[] members)
    {
        var entry = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach ((string key, object value) in members) entry[key] = value;
        return entry;
    }

    private static ServiceBinding Bind(string service, string? pool, params string[] queues) =>
        new("prod", service, BindingScope.From(pool == null ? null : new[] { pool }, queues.Length == 0 ? null : queues));

    private static PublisherInstallSpec Spec(IReadOnlyList<ServiceBinding> bindings, Action<PublisherInstallSpec>? configure = null)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 } };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.Bindings = bindings;
        configure?.Invoke(spec);
        spec.Validate();
        return spec;
    }

    private static PublisherState Nothing() => new() { Name = "pub", Region = "eu-west-1", AccountId = Account };

    private static BindingParameter Stored(ServiceBinding binding, bool managed = true) =>
        new(PublisherBindings.ParameterName("/prefectscaling/pub/bindings", binding), PublisherBindings.ValueOf(binding), binding, managed);

    /// <summary>Plans an install as the installer does once it has read what the dashboard shows of the bindings
    /// (here: no Container Insights, no alarms).</summary>
    private static List<AwsChange> PlanInstall(PublisherPlan plan, PublisherInstallSpec spec, PublisherState state)
    {
        state.DashboardFacts = spec.Configuration.Bindings.Select(b => new DashboardBindingFacts(b, false, Array.Empty<string>())).ToList();
        return plan.PlanInstall(spec, state);
    }

    [Fact]
    public void A_binding_file_gives_whole_pools_queues_of_a_pool_and_queues_in_any_pool()
    {
        IReadOnlyList<ServiceBinding> bindings = PublisherBindings.FromFileData(File(
            Entry(("Cluster", "prod"), ("Service", "etl"), ("WorkPool", "etl-pool")),
            Entry(("cluster", "prod"), ("service", "reports"), ("workpool", "process"), ("workqueue", new object[] { "reports", "exports" })),
            Entry(("Cluster", "prod"), ("Service", "agent"), ("WorkQueue", "default-agent"))), "bindings.psd1");

        Assert.Equal(new[] { "service/prod/etl <- pool etl-pool", "service/prod/reports <- pool process queues exports, reports", "service/prod/agent <- queue default-agent (any pool)" },
            bindings.Select(b => b.ToString()));
    }

    [Fact]
    public void Every_wrong_entry_of_a_binding_file_is_named_in_one_error_before_anything_is_used()
    {
        var error = Assert.Throws<ArgumentException>(() => PublisherBindings.FromFileData(File(
            Entry(("Cluster", "prod"), ("Service", "ok"), ("WorkPool", "p")),
            Entry(("Cluster", "prod"), ("WorkPool", "p")),
            Entry(("Cluster", "prod"), ("Service", "wild"), ("WorkPool", "etl-*")),
            Entry(("Cluster", "prod"), ("Service", "ok"), ("WorkQueue", "q")),
            Entry(("Cluster", "prod"), ("Service", "typo"), ("WorkPools", "p")),
            "not a hashtable",
            Entry(("Cluster", "prod"), ("Service", "nothing"))), "bindings.psd1"));

        string[] lines = error.Message.Split(Environment.NewLine);
        Assert.Contains("bindings.psd1 has 6 bindings that cannot be used; nothing was changed", lines[0]);
        Assert.Equal(7, lines.Length);
        Assert.StartsWith("  binding 2: No Service.", lines[1]);
        Assert.StartsWith("  binding 3 (Cluster 'prod', Service 'wild'): -WorkPool 'etl-*' has wildcard characters", lines[2]);
        Assert.StartsWith("  binding 4 (Cluster 'prod', Service 'ok'): The same service as binding 1", lines[3]);
        Assert.StartsWith("  binding 5 (Cluster 'prod', Service 'typo'): Unknown key(s) WorkPools", lines[4]);
        Assert.StartsWith("  binding 6: Not a hashtable", lines[5]);
        Assert.StartsWith("  binding 7 (Cluster 'prod', Service 'nothing'): A binding needs a scope", lines[6]);
    }

    [Theory]
    [InlineData("Bindings", "no bindings")]
    [InlineData("Other", "takes only Bindings")]
    public void A_binding_file_without_bindings_or_with_other_keys_is_refused(string key, string message)
    {
        var data = new Hashtable(StringComparer.OrdinalIgnoreCase) { [key] = Array.Empty<object>() };
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => PublisherBindings.FromFileData(data, "f.psd1")).Message);
        Assert.Contains("one hashtable", Assert.Throws<ArgumentException>(() => PublisherBindings.FromFileData(new object[] { 1 }, "f.psd1")).Message);
    }

    [Fact]
    public void The_environment_holds_the_path_and_a_stamp_of_the_set_whatever_its_size()
    {
        List<ServiceBinding> many = Enumerable.Range(0, PublisherBindings.MaxBindings).Select(i => Bind("service-with-a-long-name-" + i.ToString("000"), "pool-" + i, "queue-a", "queue-b")).ToList();
        PublisherInstallSpec spec = Spec(many, s => s.PerQueueSeries = true);
        Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
        Assert.Equal("/prefectscaling/pub/bindings", environment[PublisherConfiguration.BindingsPathVariable]);
        Assert.Equal(PublisherBindings.Stamp(many), environment[PublisherConfiguration.BindingsStampVariable]);
        Assert.StartsWith("250:", environment[PublisherConfiguration.BindingsStampVariable]);
        Assert.Equal("true", environment[PublisherConfiguration.PerQueueSeriesVariable]);
        Assert.DoesNotContain(PublisherConfiguration.ScopesVariable, environment.Keys);
        Assert.True(environment.Sum(v => v.Key.Length + v.Value.Length) < 1024);

        PublisherConfiguration read = PublisherConfiguration.FromEnvironment(name => environment.TryGetValue(name, out string? value) ? value : null);
        Assert.True(read.UsesBindings);
        Assert.Empty(read.Bindings);
        Assert.True(read.PerQueueSeries);
        Assert.Equal(environment, read.ToEnvironment());
    }

    [Fact]
    public void The_stamp_is_the_set_in_any_order_and_changes_with_any_scope()
    {
        ServiceBinding a = Bind("a", "p"), b = Bind("b", "p", "q");
        Assert.Equal(PublisherBindings.Stamp(new[] { a, b }), PublisherBindings.Stamp(new[] { b, a }));
        Assert.NotEqual(PublisherBindings.Stamp(new[] { a, b }), PublisherBindings.Stamp(new[] { a, Bind("b", "p", "q", "r") }));
        Assert.NotEqual(PublisherBindings.Stamp(new[] { a }), PublisherBindings.Stamp(new[] { a, b }));
    }

    [Fact]
    public void Only_a_binding_of_the_service_its_name_says_is_read_from_a_parameter()
    {
        const string path = "/prefectscaling/pub/bindings";
        ServiceBinding binding = Bind("etl", "p");
        Assert.Equal(binding, PublisherBindings.Parse(path, path + "/prod/etl", PublisherBindings.ValueOf(binding)));
        Assert.Null(PublisherBindings.Parse(path, path + "/prod/other", PublisherBindings.ValueOf(binding)));
        Assert.Null(PublisherBindings.Parse(path, path + "/prod/etl", "kept by hand"));
        Assert.Null(PublisherBindings.Parse(path, path + "/prod/etl", "{\"cluster\":\"prod\"}"));
    }

    [Fact]
    public void A_configuration_of_bindings_refuses_what_would_mix_series()
    {
        Assert.Contains("one binding", Assert.Throws<ArgumentException>(() => Spec(new[] { Bind("a", "p"), Bind("a", "q") })).Message);
        Assert.Contains("-MetricName", Assert.Throws<ArgumentException>(() => Spec(new[] { Bind("a", "p") }, s =>
        {
            s.Configuration.Measures = new[] { BacklogMeasure.Late, BacklogMeasure.Due };
            s.Configuration.Metric.MetricName = "Backlog";
        })).Message);
        Assert.Contains("goes with bindings", Assert.Throws<ArgumentException>(() => Spec(Array.Empty<ServiceBinding>(), s => s.PerQueueSeries = true)).Message);
        Assert.Contains("SSM parameter holds 4096", Assert.Throws<ArgumentException>(() =>
            PublisherBindings.Of("prod", "s", new[] { "p" }, Enumerable.Range(0, 200).Select(i => "queue-name-number-" + i))).Message);
    }

    [Fact]
    public void The_installer_converges_the_binding_parameters_and_leaves_a_user_s_alone()
    {
        var plan = new PublisherPlan(_aws);
        ServiceBinding keep = Bind("keep", "p"), change = Bind("change", "p"), drop = Bind("drop", "p"), add = Bind("add", "q");
        PublisherState state = Nothing();
        var mine = new BindingParameter("/prefectscaling/pub/bindings/notes", "kept by hand", null, false);
        state.BindingParameters = new[] { Stored(keep), Stored(change), Stored(drop), mine };

        List<string> actions = PlanInstall(plan, Spec(new[] { keep, Bind("change", "p", "q1"), add }), state)
            .Where(c => c.Target.StartsWith("/prefectscaling/pub/bindings/", StringComparison.Ordinal)).Select(c => c.ToString()).ToList();
        Assert.Equal(new[]
        {
            "Create SSM parameter with the binding service/prod/add <- pool q: /prefectscaling/pub/bindings/prod/add",
            "Update SSM parameter with the binding service/prod/change <- pool p queue q1: /prefectscaling/pub/bindings/prod/change",
            "Delete SSM parameter with the binding service/prod/drop: /prefectscaling/pub/bindings/prod/drop",
        }, actions);

        // Uninstall deletes the module's parameters only.
        List<string> removed = plan.PlanUninstall(state).Select(c => c.Target).Where(t => t.Contains("/bindings/", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[] { Stored(keep).Name, Stored(change).Name, Stored(drop).Name }, removed);
        Assert.Contains(state.NotOwned(), o => o.Contains("/prefectscaling/pub/bindings/notes", StringComparison.Ordinal));

        // A parameter of a wanted binding that the module did not write is never taken over.
        state.BindingParameters = new[] { Stored(keep, managed: false) };
        var refused = Assert.Throws<ResourceOwnershipException>(() => plan.PlanInstall(Spec(new[] { keep }), state));
        Assert.Contains("SSM parameter /prefectscaling/pub/bindings/prod/keep", refused.Message);
    }

    [Fact]
    public void The_role_reads_the_bindings_path_and_describes_only_the_bound_services()
    {
        PublisherState at = Nothing();
        JsonObject policy = PublisherPolicies.Inline(Spec(new[] { Bind("b", "p"), Bind("a", "p"), new ServiceBinding("other", "c", BindingScope.From(new[] { "p" }, null)) }), at);
        JsonObject[] statements = policy["Statement"]!.AsArray().OfType<JsonObject>().ToArray();
        JsonObject read = statements.Single(s => (string?)s["Sid"] == "ReadBindings");
        Assert.Equal("ssm:GetParametersByPath", (string?)read["Action"]);
        Assert.Equal(new[] { "arn:aws:ssm:eu-west-1:123456789012:parameter/prefectscaling/pub/bindings", "arn:aws:ssm:eu-west-1:123456789012:parameter/prefectscaling/pub/bindings/*" },
            read["Resource"]!.AsArray().Select(r => (string?)r));
        JsonObject describe = statements.Single(s => (string?)s["Sid"] == "ReadServiceTasks");
        Assert.Equal(new[] { "arn:aws:ecs:eu-west-1:123456789012:service/other/c", "arn:aws:ecs:eu-west-1:123456789012:service/prod/a", "arn:aws:ecs:eu-west-1:123456789012:service/prod/b" },
            describe["Resource"]!.AsArray().Select(r => (string?)r));
        Assert.Null(PublisherPolicies.Widened(policy));
    }

    [Fact]
    public void Past_IAM_s_limit_the_cluster_with_most_services_is_granted_whole_and_the_plan_says_so()
    {
        List<ServiceBinding> bindings = Enumerable.Range(0, 150).Select(i => Bind("prefect-process-worker-" + i.ToString("000"), "p"))
            .Append(new ServiceBinding("small", "one", BindingScope.From(new[] { "p" }, null))).ToList();
        PublisherInstallSpec spec = Spec(bindings);
        JsonObject policy = PublisherPolicies.Inline(spec, Nothing());
        Assert.True(PublisherPolicies.Length(policy) <= PublisherPolicies.MaxInlinePolicyLength);
        JsonObject describe = policy["Statement"]!.AsArray().OfType<JsonObject>().Single(s => (string?)s["Sid"] == "ReadServiceTasks");
        Assert.Equal(new[] { "arn:aws:ecs:eu-west-1:123456789012:service/prod/*", "arn:aws:ecs:eu-west-1:123456789012:service/small/one" }, describe["Resource"]!.AsArray().Select(r => (string?)r));
        AwsChange attach = PlanInstall(new PublisherPlan(_aws), spec, Nothing()).Single(c => c.Target.EndsWith("/PrefectScalingPublisher", StringComparison.Ordinal));
        Assert.Contains("ecs:DescribeServices on service/prod/*", attach.Action);

        // A hundred bindings of ordinary names keep their exact list.
        PublisherInstallSpec hundred = Spec(Enumerable.Range(0, 100).Select(i => Bind("prefect-worker-" + i.ToString("000"), "p")).ToList());
        Assert.Null(PublisherPolicies.Widened(PublisherPolicies.Inline(hundred, Nothing())));
    }

    /// <summary>An installed function of the module's whose environment is <paramref name="configuration"/>'s.</summary>
    private static PublisherState InstalledWith(PublisherConfiguration configuration, params BindingParameter[] parameters)
    {
        PublisherState state = Nothing();
        state.Function = new JsonObject
        {
            ["Configuration"] = new JsonObject
            {
                ["Environment"] = new JsonObject { ["Variables"] = new JsonObject(configuration.ToEnvironment().Select(v => new KeyValuePair<string, JsonNode?>(v.Key, v.Value))) },
            },
        };
        state.FunctionIsManaged = true;
        state.BindingParameters = parameters;
        return state;
    }

    [Fact]
    public void A_publisher_of_the_first_release_for_one_service_becomes_a_binding_with_its_per_queue_series()
    {
        var first = new PublisherConfiguration
        {
            ApiUrl = "https://prefect.example.com/api",
            Scopes = new[] { new ScopeSelector("k8s", null), new ScopeSelector("process", "reports"), new ScopeSelector(null, "legacy") },
            Cluster = "prod",
            Service = "agent",
        };
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, KeepInstalledBindings = true };
        spec.Configuration.ApiUrl = first.ApiUrl;
        spec.Validate();

        IReadOnlyList<string> notes = spec.Settle(InstalledWith(first));
        ServiceBinding converted = Assert.Single(spec.Configuration.Bindings);
        Assert.Equal("service/prod/agent <- pool k8s; pool process queue reports; queue legacy (any pool)", converted.ToString());
        Assert.True(spec.Configuration.PerQueueSeries);
        Assert.Contains("Converting the publisher pub of the first release", Assert.Single(notes));
        Assert.Null(spec.Configuration.Cluster);

        // Installed so, the next install keeps the binding and its per-queue series as they are.
        var again = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, KeepInstalledBindings = true };
        again.Configuration.ApiUrl = first.ApiUrl;
        again.Validate();
        again.Settle(InstalledWith(spec.Configuration, Stored(converted)));
        Assert.Equal(spec.Configuration.ToEnvironment(), again.Configuration.ToEnvironment());
        Assert.Empty(PlanInstall(new PublisherPlan(_aws), again, InstalledWith(spec.Configuration, Stored(converted))).Where(c => c.Target.Contains("/bindings/", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_publisher_of_the_first_release_with_wildcards_is_not_guessed_into_a_binding()
    {
        var first = new PublisherConfiguration { ApiUrl = "https://prefect.example.com/api", Scopes = new[] { new ScopeSelector("ecs-*", null) }, Cluster = "prod", Service = "agent" };
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, KeepInstalledBindings = true };
        spec.Configuration.ApiUrl = first.ApiUrl;
        spec.Validate();
        var error = Assert.Throws<ArgumentException>(() => spec.Settle(InstalledWith(first)));
        Assert.Contains("wildcards", error.Message);
        Assert.Contains("-Cluster prod -Service agent", error.Message);

        // Without a service it stays a publisher of the first release.
        var plain = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, KeepInstalledBindings = true };
        plain.Configuration.ApiUrl = first.ApiUrl;
        plain.Validate();
        Assert.Empty(plain.Settle(InstalledWith(new PublisherConfiguration { ApiUrl = first.ApiUrl, Scopes = first.Scopes })));
        Assert.False(plain.Configuration.UsesBindings);
    }

    [Fact]
    public void Get_lists_the_bindings_and_says_when_the_stored_set_is_not_the_installed_one()
    {
        ServiceBinding a = Bind("a", "p"), b = Bind("b", "p", "q");
        PublisherInstallSpec spec = Spec(new[] { b, a });
        PublisherState state = InstalledWith(spec.Configuration, Stored(a), Stored(b));
        PrefectBacklogPublisher report = PrefectBacklogPublisher.From(state);
        Assert.Equal(new[] { ("prod", "a", "pool p"), ("prod", "b", "pool p queue q") }, report.Bindings.Select(x => (x.Cluster, x.Service, x.Scope)));
        Assert.Equal("2 binding(s)", report.Scopes);
        Assert.DoesNotContain(report.Problems, p => p.Contains("binding", StringComparison.Ordinal));

        state.BindingParameters = new[] { Stored(a) };
        Assert.Contains(PrefectBacklogPublisher.From(state).Problems, p => p.Contains("are not the set the function was installed with", StringComparison.Ordinal));
        state.BindingParameters = Array.Empty<BindingParameter>();
        Assert.Contains(PrefectBacklogPublisher.From(state).Problems, p => p.Contains("No binding is stored", StringComparison.Ordinal));
    }
}
