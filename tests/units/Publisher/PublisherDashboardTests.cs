using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The publisher's dashboard from a spec and what was read (no AWS call): what each binding's widgets
/// read is exactly the binding's series, the quotas hold, ownership rests on the body's marker, and the plan puts
/// the dashboard only when its body differs.</summary>
public sealed class PublisherDashboardTests : IDisposable
{
    private const string Region = "eu-west-1";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = Region, EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private static ServiceBinding Binding(string cluster, string service, string pool = "k8s") =>
        new(cluster, service, BindingScope.From(new[] { pool }, null));

    private static PublisherInstallSpec Spec(string name, params ServiceBinding[] bindings)
    {
        var spec = new PublisherInstallSpec { Name = name, Package = new byte[] { 1 }, Secret = null };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.Bindings = bindings;
        spec.Configuration.Measures = new[] { BacklogMeasure.Late, BacklogMeasure.Pending, BacklogMeasure.Running };
        spec.Validate();
        return spec;
    }

    private static PublisherState Read(string name, string? body, bool managed, params DashboardBindingFacts[] facts) => new()
    {
        Name = name, Region = Region, AccountId = "123456789012", DashboardBody = body, DashboardIsManaged = managed, DashboardFacts = facts,
    };

    private static IEnumerable<JsonObject> Widgets(JsonObject body) => body["widgets"]!.AsArray().OfType<JsonObject>();

    /// <summary>A metrics row read back as the series it names: [Namespace, MetricName, name, value, ..., {options}].</summary>
    private static MetricSeries Series(JsonNode row)
    {
        List<JsonNode?> items = row.AsArray().Where(i => i is not JsonObject).ToList();
        var dimensions = new List<KeyValuePair<string, string>>();
        for (int i = 2; i + 1 < items.Count; i += 2) dimensions.Add(new((string)items[i]!, (string)items[i + 1]!));
        return new MetricSeries((string)items[0]!, (string)items[1]!, dimensions);
    }

    private static List<MetricSeries> SeriesOf(JsonObject widget) => widget["properties"]!["metrics"]!.AsArray().Select(r => Series(r!)).ToList();

    private static JsonObject WidgetTitled(JsonObject body, string title) => Widgets(body).Single(w => (string?)w["properties"]!["title"] == title);

    [Fact]
    public void Each_binding_shows_its_own_backlog_series_its_tasks_and_its_alarms()
    {
        ServiceBinding withInsights = Binding("prod", "agent"), without = Binding("prod-eu", "agent", "eu");
        PublisherInstallSpec spec = Spec("pub", withInsights, without);
        var facts = new[]
        {
            new DashboardBindingFacts(withInsights, containerInsights: true, new[] { "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b" }),
            new DashboardBindingFacts(without, containerInsights: false, Array.Empty<string>()),
        };
        JsonObject body = PublisherDashboard.Body(spec, Region, facts);

        Assert.Equal(spec.Configuration.Measures.Select(m => BindingSeries.Backlog(spec.Configuration.Metric, withInsights, m)),
            SeriesOf(WidgetTitled(body, "prod/agent backlog: pool k8s")));
        Assert.Equal(spec.Configuration.Measures.Select(m => BindingSeries.Backlog(spec.Configuration.Metric, without, m)),
            SeriesOf(WidgetTitled(body, "prod-eu/agent backlog: pool eu")));

        var dimensions = BindingSeries.Dimensions("prod", "agent");
        Assert.Equal(new[]
        {
            BindingSeries.DesiredTasks(spec.Configuration.Metric, withInsights),
            new MetricSeries("ECS/ContainerInsights", "RunningTaskCount", dimensions),
            new MetricSeries("ECS/ContainerInsights", "DesiredTaskCount", dimensions),
        }, SeriesOf(WidgetTitled(body, "prod/agent tasks")));
        // Without Container Insights there are no running counts to show (AWS/ECS has none): only the published desired count.
        Assert.Equal(new[] { BindingSeries.DesiredTasks(spec.Configuration.Metric, without) },
            SeriesOf(WidgetTitled(body, "prod-eu/agent tasks (running: turn on Container Insights)")));

        JsonObject alarms = Widgets(body).Single(w => (string)w["type"]! == "alarm");
        Assert.Equal("prod/agent scaling alarms", (string?)alarms["properties"]!["title"]);
        Assert.Equal(facts[0].AlarmArns, alarms["properties"]!["alarms"]!.AsArray().Select(a => (string)a!));
        Assert.Contains(Widgets(body), w => (string)w["type"]! == "text" && ((string)w["properties"]!["markdown"]!).StartsWith("### prod-eu/agent scaling alarms\nNo scaling policy", StringComparison.Ordinal));

        Assert.Equal(new[] { new MetricSeries("AWS/Lambda", "Errors", new[] { new KeyValuePair<string, string>("FunctionName", "pub") }) },
            SeriesOf(WidgetTitled(body, "Publisher errors")));
        JsonObject duration = WidgetTitled(body, "Publisher duration (ms)");
        Assert.All(SeriesOf(duration), s => Assert.Equal("AWS/Lambda/Duration {FunctionName=pub}", s.ToString()));
        Assert.Equal(new[] { "Average", "Maximum" }, duration["properties"]!["metrics"]!.AsArray().Select(r => (string?)r!.AsArray().Last()!["label"]));
        Assert.All(Widgets(body).Where(w => (string)w["type"]! == "metric"), w => Assert.Equal(Region, (string?)w["properties"]!["region"]));
    }

    [Fact]
    public void The_widgets_tile_the_grid_without_overlapping()
    {
        ServiceBinding[] bindings = Enumerable.Range(0, 7).Select(i => Binding("c" + i, "s")).ToArray();
        JsonObject body = PublisherDashboard.Body(Spec("pub", bindings), Region, bindings.Select(b => new DashboardBindingFacts(b, false, Array.Empty<string>())).ToArray());
        var cells = new HashSet<(int, int)>();
        foreach (JsonObject widget in Widgets(body))
        {
            int x = (int)widget["x"]!, y = (int)widget["y"]!, width = (int)widget["width"]!, height = (int)widget["height"]!;
            Assert.InRange(x + width, 1, 24);
            for (int i = x; i < x + width; i++)
                for (int j = y; j < y + height; j++)
                    Assert.True(cells.Add((i, j)), "two widgets cover cell " + i + "," + j);
        }
        Assert.Equal(3 + 3 * 7, Widgets(body).Count());
    }

    [Fact]
    public void A_publisher_with_more_bindings_than_fit_stays_within_CloudWatch_s_quotas_and_says_how_many_are_not_shown()
    {
        ServiceBinding[] bindings = Enumerable.Range(0, 200).Select(i => Binding("cluster", "service-" + i)).ToArray();
        PublisherInstallSpec spec = Spec("pub", bindings);
        spec.Configuration.Measures = Enum.GetValues<BacklogMeasure>();
        var facts = bindings.Select(b => new DashboardBindingFacts(b, true, new[] { "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + b.Service })).ToArray();
        JsonObject body = PublisherDashboard.Body(spec, Region, facts);

        Assert.InRange(Widgets(body).Count(), 1, PublisherDashboard.MaxWidgets);
        Assert.InRange(PublisherDashboard.MetricCount(body), 1, PublisherDashboard.MaxMetrics);
        Assert.Equal(PublisherDashboard.MaxBindings, Widgets(body).Count(w => (string)w["type"]! == "alarm"));
        Assert.Contains("**" + (200 - PublisherDashboard.MaxBindings) + " of 200 bindings are not shown**", (string)Widgets(body).First()["properties"]!["markdown"]!);
        AwsChange change = PublisherDashboard.PlanInstall(_aws, spec, Read("pub", null, false, facts))!;
        Assert.Equal("Create CloudWatch dashboard (200 binding(s), " + (200 - PublisherDashboard.MaxBindings) + " not shown: at most " + PublisherDashboard.MaxBindings + " fit): pub", change.ToString());
    }

    [Theory]
    [InlineData("pub", true)]
    [InlineData("pub-2", false)]
    [InlineData("pu", false)]
    public void The_marker_names_exactly_one_publisher(string madeFor, bool ownedByPub)
    {
        string body = PublisherDashboard.Body(Spec(madeFor), Region, Array.Empty<DashboardBindingFacts>()).ToJsonString();
        Assert.Equal(ownedByPub, PublisherDashboard.IsOwned(body, "pub"));
        Assert.True(PublisherDashboard.IsOwned(body, madeFor));
    }

    [Theory]
    [InlineData("""{"widgets":[{"type":"text","properties":{"markdown":"my own notes"}}]}""")]
    [InlineData("""{"widgets":[{"type":"metric","properties":{"markdown":"Managed by PrefectScaling: publisher pub"}}]}""")]
    [InlineData("""{"widgets":[{"type":"text","properties":{"markdown":"see: Managed by PrefectScaling: publisher pub"}}]}""")]
    [InlineData("""{"widgets":[]}""")]
    [InlineData("""not json""")]
    [InlineData("")]
    public void A_dashboard_without_the_marker_line_in_a_text_widget_is_not_the_module_s(string body) =>
        Assert.False(PublisherDashboard.IsOwned(body, "pub"));

    [Fact]
    public void A_user_s_dashboard_of_the_publisher_s_name_is_refused_by_install_and_left_by_uninstall()
    {
        PublisherState state = Read("pub", """{"widgets":[]}""", managed: false);
        var refused = Assert.Throws<ResourceOwnershipException>(() => new PublisherInstaller(_aws).PlanInstall(Spec("pub"), state));
        Assert.Equal("PublisherNameTaken", refused.ErrorId);
        Assert.Contains("CloudWatch dashboard pub", refused.Message);
        Assert.Empty(new PublisherInstaller(_aws).PlanUninstall(state));
        Assert.Contains("the CloudWatch dashboard pub (its body has no line 'Managed by PrefectScaling: publisher pub')", state.NotOwned());
        Assert.DoesNotContain(state.Found(), f => f.Contains("dashboard", StringComparison.Ordinal));
    }

    [Fact]
    public void The_dashboard_is_put_only_when_its_body_differs()
    {
        ServiceBinding binding = Binding("prod", "agent");
        PublisherInstallSpec spec = Spec("pub", binding);
        var facts = new DashboardBindingFacts(binding, false, new[] { "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a" });
        string body = PublisherDashboard.Body(spec, Region, new[] { facts }).ToJsonString();

        Assert.Equal("Create CloudWatch dashboard (1 binding(s)): pub", PublisherDashboard.PlanInstall(_aws, spec, Read("pub", null, false, facts))!.ToString());
        Assert.Null(PublisherDashboard.PlanInstall(_aws, spec, Read("pub", body, true, facts)));
        // The same JSON as CloudWatch may hand it back: indented.
        string indented = JsonNode.Parse(body)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Assert.Null(PublisherDashboard.PlanInstall(_aws, spec, Read("pub", indented, true, facts)));

        // A new alarm (Set ran since), Container Insights turned on, or another measure: the body differs.
        var moreAlarms = new DashboardBindingFacts(binding, false, new[] { "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b" });
        Assert.Equal("Update CloudWatch dashboard (1 binding(s)): pub", PublisherDashboard.PlanInstall(_aws, spec, Read("pub", body, true, moreAlarms))!.ToString());
        Assert.NotNull(PublisherDashboard.PlanInstall(_aws, spec, Read("pub", body, true, new DashboardBindingFacts(binding, true, facts.AlarmArns))));
        PublisherInstallSpec due = Spec("pub", binding);
        due.Configuration.Measures = new[] { BacklogMeasure.Late, BacklogMeasure.Due };
        Assert.NotNull(PublisherDashboard.PlanInstall(_aws, due, Read("pub", body, true, facts)));

        Assert.Equal("Delete CloudWatch dashboard: pub", PublisherDashboard.PlanUninstall(_aws, Read("pub", body, true))!.ToString());
        Assert.Contains("CloudWatch dashboard pub", Read("pub", body, true).Found());
    }

    [Fact]
    public void An_install_plan_for_bindings_whose_facts_were_not_read_is_refused_rather_than_guessed()
    {
        PublisherInstallSpec spec = Spec("pub", Binding("prod", "agent"));
        PublisherState state = Read("pub", null, false);
        state.DashboardFacts = null;
        Assert.Throws<InvalidOperationException>(() => PublisherDashboard.PlanInstall(_aws, spec, state));
        state.DashboardFacts = new[] { new DashboardBindingFacts(Binding("prod", "other"), false, Array.Empty<string>()) };
        Assert.Throws<InvalidOperationException>(() => PublisherDashboard.PlanInstall(_aws, spec, state));
    }

    [Fact]
    public void The_graphs_follow_the_sampling_interval()
    {
        int PeriodOf(int interval, int resolution)
        {
            PublisherInstallSpec spec = Spec("pub", Binding("prod", "agent"));
            spec.Configuration.Metric.StorageResolution = resolution;
            spec.Configuration.SampleIntervalSeconds = interval;
            JsonObject body = PublisherDashboard.Body(spec, Region, new[] { new DashboardBindingFacts(spec.Configuration.Bindings[0], false, Array.Empty<string>()) });
            return (int)WidgetTitled(body, "prod/agent backlog: pool k8s")["properties"]!["period"]!;
        }
        Assert.Equal(60, PeriodOf(60, 60));
        Assert.Equal(60, PeriodOf(60, 1));
        Assert.Equal(30, PeriodOf(30, 1));
        Assert.Equal(30, PeriodOf(15, 1));
        Assert.Equal(10, PeriodOf(10, 1));
    }

    [Fact]
    public void The_dashboard_shows_the_module_s_alarms_and_those_AWS_made_for_its_policies_once_each()
    {
        var scaling = EcsScalingState.FromJson(JsonNode.Parse("""
            {"Cluster":"prod","Service":"agent",
             "Policies":[{"PolicyName":"p:tt","Alarms":[{"AlarmName":"TargetTracking-high","AlarmARN":"arn:high"},{"AlarmName":"TargetTracking-low","AlarmARN":"arn:low"}]},
                         {"PolicyName":"p:out","Alarms":[{"AlarmName":"p:out","AlarmARN":"arn:out"}]}],
             "Alarms":[{"AlarmName":"p:out","AlarmArn":"arn:out"},{"AlarmName":"p:in","AlarmArn":"arn:in"}],
             "OtherPolicies":[{"PolicyName":"someone-else","Alarms":[{"AlarmName":"x","AlarmARN":"arn:other"}]}],
             "OtherAlarms":[{"AlarmName":"PrefectScaling/prod/agent/x","AlarmArn":"arn:not-ours"}]}
            """)!.AsObject());
        Assert.Equal(new[] { "arn:in", "arn:out", "arn:out", "arn:high", "arn:low" }.Distinct(), PublisherDashboard.AlarmArns(scaling));
    }
}
