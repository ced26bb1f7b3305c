using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;

namespace PrefectScaling.Scaling.Tests;

/// <summary>The naming scheme and the pure planners: JSON state in, changes out (no AWS call is made).</summary>
public sealed class ScalingPlannerTests : IDisposable
{
    private const string Arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:0b7e:resource/ecs/";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private EcsScalingPlanner Planner => new(_aws);

    private static ScalingPolicySpec Spec(ScalingPolicyKind kind = ScalingPolicyKind.StepScaling, string service = "agent", string? pool = "pool", string queue = "default") =>
        new() { Cluster = "prod", Service = service, Scope = Scope(pool, queue), MinCapacity = 0, MaxCapacity = 4, Kind = kind };

    private static BindingScope Scope(string? pool, params string[] queues) => BindingScope.From(pool == null ? null : new[] { pool }, queues);

    private static ServiceBinding Binding(string cluster, string service, string? pool, params string[] queues) => new(cluster, service, Scope(pool, queues));

    private static JsonObject Target(int min = 0, int max = 4) => new()
    {
        ["ServiceNamespace"] = "ecs", ["ResourceId"] = "service/prod/agent", ["ScalableDimension"] = "ecs:service:DesiredCount", ["MinCapacity"] = min, ["MaxCapacity"] = max,
    };

    private static JsonObject Policy(string name, string type = "StepScaling", string service = "agent") => new()
    {
        ["PolicyName"] = name, ["PolicyType"] = type, ["ResourceId"] = "service/prod/" + service, ["PolicyARN"] = Arn + "service/prod/" + service + ":policyName/" + name,
    };

    private static JsonObject Alarm(string name, string service = "agent") => new()
    {
        ["AlarmName"] = name, ["AlarmActions"] = new JsonArray(Arn + "service/prod/" + service + ":policyName/" + name),
    };

    /// <summary>What a Set of this spec leaves, as DescribeScalingPolicies / DescribeAlarms answer it.</summary>
    private static JsonObject StateAfter(ScalingPolicySpec spec)
    {
        var policies = new JsonArray();
        var alarms = new JsonArray();
        foreach (DesiredPolicy p in ScalingPolicyDocuments.Policies(spec))
        {
            var policy = (JsonObject)p.PutInput.DeepClone();
            policy["PolicyARN"] = Arn + spec.ResourceId + ":policyName/" + p.Name;
            policies.Add(policy);
            if (p.Alarm == null) continue;
            var alarm = (JsonObject)p.Alarm.DeepClone();
            alarm["AlarmActions"] = new JsonArray((string)policy["PolicyARN"]!);
            alarms.Add(alarm);
        }
        return new JsonObject { ["Cluster"] = spec.Cluster, ["Service"] = spec.Service, ["Target"] = ScalingPolicyDocuments.ScalableTarget(spec), ["Policies"] = policies, ["Alarms"] = alarms };
    }

    private static List<string> Actions(IEnumerable<AwsChange> changes) => changes.Select(c => c.Action + ": " + c.Target).ToList();

    [Fact]
    public void Names_carry_the_exact_service_and_never_start_another_service_s_names()
    {
        string agent = ScalingNames.BaseName(Binding("c", "agent", "pool", "q"));
        string gpu = ScalingNames.BaseName(Binding("c", "agent-gpu", "pool", "q"));
        Assert.Matches("^PrefectScaling/c/agent/pool/q~[0-9a-f]{16}$", agent);
        Assert.False(gpu.StartsWith(ScalingNames.ServiceHead("c", "agent"), StringComparison.Ordinal));
        Assert.True(ScalingNames.IsServiceName(agent + ":out", "c", "agent"));
        Assert.False(ScalingNames.IsServiceName(gpu + ":out", "c", "agent"));

        // Cluster a-b + service c and cluster a + service b-c: the first release named both PrefectScaling-a-b-c-.
        string left = ScalingNames.BaseName(Binding("a-b", "c", null, "q")), right = ScalingNames.BaseName(Binding("a", "b-c", null, "q"));
        Assert.NotEqual(left, right);
        Assert.False(ScalingNames.IsServiceName(left, "a", "b-c"));
        Assert.False(ScalingNames.IsServiceName(right, "a-b", "c"));
        Assert.Equal(ScalingNames.LegacyBaseName("a-b", "c", null, "q"), ScalingNames.LegacyBaseName("a", "b-c", null, "q"));

        // Pools and queues cannot blur: pool "a" + queue "b/c" is not pool "a/b" + queue "c", nor queue "a/b/c" in any pool,
        // nor pool "a/b/c"; a binding's name is not the name of the same queue's policy from before bindings.
        var scopes = new[]
        {
            ScalingNames.BaseName(Binding("c", "s", "a", "b/c")), ScalingNames.BaseName(Binding("c", "s", "a/b", "c")), ScalingNames.BaseName(Binding("c", "s", null, "a/b/c")),
            ScalingNames.BaseName(new ServiceBinding("c", "s", BindingScope.From(new[] { "a/b/c" }, null))), ScalingNames.QueueBaseName("c", "s", "a", "b/c"),
        };
        Assert.Equal(scopes.Length, scopes.Distinct().Count());
        // A user's own names that merely start like ours are not the module's.
        Assert.False(ScalingNames.IsServiceName("PrefectScaling/c/agent/my-alarm", "c", "agent"));
        Assert.False(ScalingNames.IsServiceName("PrefectScaling/c/agent/x~0123456789abcdef:other", "c", "agent"));
    }

    public static TheoryData<string, string> Readable => new()
    {
        { "pool k8s", "k8s" },
        { "pool k8s queues a, b", "k8s/a+b" },
        { "queues a, b (any pool)", "*/a+b" },
        { "pool gpu; pool k8s queue a; queue b (any pool)", "gpu;k8s/a;*/b" },
        { "pool team a+b #2 ü;= queue etl \"quoted\" #1 ü?", "team%20a%2Bb%20%232%20%C3%BC%3B%3D/etl%20%22quoted%22%20%231%20%C3%BC%3F" },
    };

    [Theory]
    [MemberData(nameof(Readable))]
    public void A_binding_s_name_holds_its_scope_readably_and_gives_it_back_exactly(string scopeText, string readable)
    {
        BindingScope scope = Parse(scopeText);
        Assert.Equal(scopeText, scope.ToString());
        string name = ScalingNames.BaseName(new ServiceBinding("prod", "agent", scope));
        Assert.Equal("PrefectScaling/prod/agent/" + readable, name[..name.LastIndexOf('~')]);
        Assert.All(name, ch => Assert.InRange(ch, ' ', '~'));
        foreach (string suffix in ScalingNames.Suffixes)
            Assert.Equal(scope, ScalingNames.ScopeOf(name + suffix, "prod", "agent"));
        // Another service's head, or a name whose hash is not its scope's, gives nothing back.
        Assert.Null(ScalingNames.ScopeOf(name, "prod", "agent-gpu"));
        Assert.Null(ScalingNames.ScopeOf(name[..^1] + (name[^1] == '0' ? '1' : '0'), "prod", "agent"));
    }

    /// <summary>The test's own reading of BindingScope.ToString(), so the expected scopes are written as people read them.</summary>
    private static BindingScope Parse(string text)
    {
        var pools = new List<BindingScope.PoolPart>();
        var any = new List<string>();
        foreach (string part in text.Split("; "))
        {
            if (part.EndsWith(" (any pool)", StringComparison.Ordinal))
                any.AddRange(part[(part.IndexOf(' ') + 1)..^" (any pool)".Length].Split(", "));
            else if (part.Contains(" queue", StringComparison.Ordinal))
            {
                int at = part.IndexOf(" queue", StringComparison.Ordinal);
                pools.Add(new BindingScope.PoolPart(part["pool ".Length..at], part[(part.IndexOf(' ', at + 1) + 1)..].Split(", ")));
            }
            else pools.Add(new BindingScope.PoolPart(part["pool ".Length..], Array.Empty<string>()));
        }
        return BindingScope.Of(pools, any);
    }

    [Fact]
    public void Names_of_one_queue_from_before_bindings_give_their_scope_back_and_the_first_release_s_do_not()
    {
        Assert.Equal(Scope("pool", "etl"), ScalingNames.ScopeOf(ScalingNames.QueueBaseName("prod", "agent", "pool", "etl") + ":out", "prod", "agent"));
        Assert.Equal(Scope(null, "etl"), ScalingNames.ScopeOf(ScalingNames.QueueBaseName("prod", "agent", null, "etl"), "prod", "agent"));
        Assert.Equal(Scope("a/b", "c"), ScalingNames.ScopeOf(ScalingNames.QueueBaseName("prod", "agent", "a/b", "c"), "prod", "agent"));
        // Simplified characters ('ü' became '_') cannot be read back, nor can the first release's pool-queue names.
        Assert.Null(ScalingNames.ScopeOf(ScalingNames.QueueBaseName("prod", "agent", "pool", "etl ü"), "prod", "agent"));
        Assert.Null(ScalingNames.ScopeOf(ScalingNames.LegacyBaseName("prod", "agent", "pool", "etl") + ":out", "prod", "agent"));
        Assert.Equal("pool pool queue etl (one queue, from before bindings)", ScalingNames.ScopeText(ScalingNames.QueueBaseName("prod", "agent", "pool", "etl"), "prod", "agent"));
        Assert.Equal("PrefectScaling-prod-agent-pool-etl (the first release's name)", ScalingNames.ScopeText(ScalingNames.LegacyBaseName("prod", "agent", "pool", "etl") + ":in", "prod", "agent"));
    }

    [Fact]
    public void Names_stay_within_AWS_limits_for_the_longest_ECS_names()
    {
        string cluster = new('c', 255), service = new('s', 255), queue = new('q', 1024);
        var longest = new ServiceBinding(cluster, service, Scope(new string('p', 1024), queue));
        string name = ScalingNames.BaseName(longest);
        Assert.True(name.Length + ":wake".Length <= 255, name.Length.ToString());
        Assert.True(ScalingNames.IsServiceName(name + ":wake", cluster, service));
        Assert.False(ScalingNames.IsServiceName(name, cluster, new string('s', 254)));
        // A scope cut to fit cannot be read back, and is not mistaken for another.
        Assert.Null(ScalingNames.ScopeOf(name, cluster, service));
        // Two scopes that differ only past the readable part still get different names.
        Assert.NotEqual(name, ScalingNames.BaseName(new ServiceBinding(cluster, service, Scope(new string('p', 1024), queue[..^1] + "x"))));
        var manyQueues = new ServiceBinding("c", "s", Scope("pool", Enumerable.Range(1, 1000).Select(i => "queue-" + i).ToArray()));
        Assert.True(ScalingNames.BaseName(manyQueues).Length <= 250);
        Assert.NotEqual(ScalingNames.BaseName(manyQueues), ScalingNames.BaseName(new ServiceBinding("c", "s", Scope("pool", Enumerable.Range(1, 999).Select(i => "queue-" + i).ToArray()))));
        // The first release's long names (cut to 187 characters, '-', a hash) are still recognised, and its
        // prefix stays within DescribeAlarms' AlarmNamePrefix limit.
        string legacy = ScalingNames.LegacyBaseName(cluster, service, null, "q");
        Assert.Equal(200, legacy.Length);
        Assert.True(ScalingNames.IsServiceName(legacy + ":out", cluster, service));
        Assert.True(ScalingNames.LegacyServicePrefix(cluster, service).Length <= 255);
        // Names before bindings keep their form, so that Set finds and replaces them.
        Assert.Matches("^PrefectScaling/c/s/team_a_b__/etl__quoted____100___1___~[0-9a-f]{16}$", ScalingNames.QueueBaseName("c", "s", "team a+b ü", "etl \"quoted\" & 100% #1 ü?"));
    }

    [Fact]
    public void Policy_arns_are_read_exactly()
    {
        Assert.Equal(("service/c/agent", "PrefectScaling/c/agent/q~0123456789abcdef:out"),
            ScalingNames.ParsePolicyArn(Arn + "service/c/agent:policyName/PrefectScaling/c/agent/q~0123456789abcdef:out"));
        Assert.Null(ScalingNames.ParsePolicyArn("arn:aws:sns:eu-west-1:123456789012:my-topic"));
        var alarm = Alarm("PrefectScaling-prod-agent-gpu-q");
        Assert.True(ScalingNames.ActionsAreServicePolicy(alarm, "prod", "agent"));
        Assert.False(ScalingNames.ActionsAreServicePolicy(Alarm("PrefectScaling-prod-agent-gpu-q", "agent-gpu"), "prod", "agent"));
        alarm["AlarmActions"]!.AsArray().Add("arn:aws:sns:eu-west-1:123456789012:my-topic");
        Assert.False(ScalingNames.ActionsAreServicePolicy(alarm, "prod", "agent"));
    }

    [Fact]
    public void PlanSet_on_nothing_registers_and_creates_both_step_policies_with_alarms()
    {
        var state = EcsScalingState.FromJson(new JsonObject { ["Cluster"] = "prod", ["Service"] = "agent" });
        ScalingPolicySpec spec = Spec();
        List<string> actions = Actions(Planner.PlanSet(spec, state));
        Assert.Equal(new[]
        {
            "Register scalable target (min 0, max 4): service/prod/agent",
            "Create StepScaling policy on service/prod/agent: " + spec.BaseName + ":out",
            "Create CloudWatch alarm that triggers policy " + spec.BaseName + ":out: " + spec.BaseName + ":out",
            "Create StepScaling policy on service/prod/agent: " + spec.BaseName + ":in",
            "Create CloudWatch alarm that triggers policy " + spec.BaseName + ":in: " + spec.BaseName + ":in",
        }, actions);
    }

    [Fact]
    public void PlanSet_on_what_it_made_changes_nothing()
    {
        foreach (ScalingPolicyKind kind in Enum.GetValues<ScalingPolicyKind>())
        {
            ScalingPolicySpec spec = Spec(kind);
            Assert.Empty(Planner.PlanSet(spec, EcsScalingState.FromJson(StateAfter(spec))));
        }
    }

    [Fact]
    public void PlanSet_replaces_another_kind_and_every_other_scope_of_the_service()
    {
        JsonObject json = StateAfter(Spec(ScalingPolicyKind.TargetTracking));
        JsonObject other = StateAfter(Spec(ScalingPolicyKind.StepScaling, queue: "other"));
        foreach (JsonNode? policy in other["Policies"]!.AsArray()) json["Policies"]!.AsArray().Add(policy!.DeepClone());
        foreach (JsonNode? alarm in other["Alarms"]!.AsArray()) json["Alarms"]!.AsArray().Add(alarm!.DeepClone());
        json["Policies"]!.AsArray().Add(Policy(ScalingNames.QueueBaseName("prod", "agent", "pool", "old"), "TargetTrackingScaling"));
        ScalingPolicySpec step = Spec();
        EcsScalingState state = EcsScalingState.FromJson(json);
        List<string> actions = Actions(Planner.PlanSet(step, state));
        string otherName = ScalingNames.BaseName(Binding("prod", "agent", "pool", "other"));
        Assert.Equal(new[]
        {
            "Delete scaling policy: " + step.BaseName,
            "Delete scaling policy and its alarm: " + otherName + ":out",
            "Delete scaling policy and its alarm: " + otherName + ":in",
            "Delete scaling policy: " + ScalingNames.QueueBaseName("prod", "agent", "pool", "old"),
        }, actions.Take(4));
        Assert.Equal(8, actions.Count); // then two policies and two alarms of the binding
        Assert.Equal(new[] { "pool pool queue other", "pool pool queue old (one queue, from before bindings)" }, EcsScalingPlanner.ReplacedScopes(step, state));
        // The same binding of another kind replaces no scope.
        Assert.Empty(EcsScalingPlanner.ReplacedScopes(step, EcsScalingState.FromJson(StateAfter(Spec(ScalingPolicyKind.TargetTracking)))));
    }

    [Fact]
    public void PlanSet_replaces_the_first_release_s_names_of_the_scope()
    {
        string legacy = ScalingNames.LegacyBaseName("prod", "agent", "pool", "default");
        Assert.Equal("PrefectScaling-prod-agent-pool-default", legacy);
        var state = EcsScalingState.FromJson(new JsonObject
        {
            ["Cluster"] = "prod", ["Service"] = "agent", ["Target"] = Target(),
            ["Policies"] = new JsonArray(Policy(legacy + ":out"), Policy(legacy + ":in")),
            ["Alarms"] = new JsonArray(Alarm(legacy + ":out"), Alarm(legacy + ":in")),
        });
        List<string> actions = Actions(Planner.PlanSet(Spec(), state));
        Assert.Equal(new[] { legacy + " (the first release's name)" }, EcsScalingPlanner.ReplacedScopes(Spec(), state));
        Assert.Equal("Delete scaling policy and its alarm: " + legacy + ":out", actions[0]);
        Assert.Equal("Delete scaling policy and its alarm: " + legacy + ":in", actions[1]);
        Assert.Equal(6, actions.Count); // the two, then two new policies and two new alarms
    }

    [Fact]
    public void PlanSet_refuses_to_overwrite_an_alarm_it_did_not_make()
    {
        ScalingPolicySpec spec = Spec();
        var state = EcsScalingState.FromJson(new JsonObject
        {
            ["Cluster"] = "prod", ["Service"] = "agent",
            ["OtherAlarms"] = new JsonArray(new JsonObject { ["AlarmName"] = spec.BaseName + ":out", ["AlarmActions"] = new JsonArray("arn:aws:sns:eu-west-1:123456789012:pager") }),
        });
        var refused = Assert.Throws<ResourceOwnershipException>(() => Planner.PlanSet(spec, state));
        Assert.Equal("AlarmNameTaken", refused.ErrorId);
        Assert.Contains(spec.BaseName + ":out", refused.Message);
    }

    [Fact]
    public void PlanRemove_of_one_scope_takes_its_names_and_its_queue_s_from_before_bindings_only()
    {
        ScalingPolicySpec spec = Spec();
        JsonObject json = StateAfter(spec);
        string legacy = ScalingNames.LegacyBaseName("prod", "agent", "pool", "default");
        string perQueue = ScalingNames.QueueBaseName("prod", "agent", "pool", "default");
        json["Policies"]!.AsArray().Add(Policy(legacy));
        json["Policies"]!.AsArray().Add(Policy(perQueue + ":in"));
        json["Policies"]!.AsArray().Add(Policy(ScalingNames.BaseName(Binding("prod", "agent", "pool", "other"))));
        json["Policies"]!.AsArray().Add(Policy(ScalingNames.QueueBaseName("prod", "agent", "pool", "other")));
        List<string> actions = Actions(Planner.PlanRemove(EcsScalingState.FromJson(json), spec.ScopeNames, deregisterTarget: false));
        Assert.Equal(new[]
        {
            "Delete CloudWatch alarm: " + spec.BaseName + ":out",
            "Delete CloudWatch alarm: " + spec.BaseName + ":in",
            "Delete scaling policy: " + spec.BaseName + ":out",
            "Delete scaling policy: " + spec.BaseName + ":in",
            "Delete scaling policy: " + legacy,
            "Delete scaling policy: " + perQueue + ":in",
        }, actions);
    }

    [Fact]
    public void PlanRemove_refuses_to_deregister_a_target_with_policies_or_actions_it_did_not_make()
    {
        JsonObject json = StateAfter(Spec());
        json["OtherPolicies"] = new JsonArray(Policy("cpu-tracking", "TargetTrackingScaling"));
        json["ScheduledActions"] = new JsonArray(new JsonObject { ["ScheduledActionName"] = "nightly" });
        EcsScalingState state = EcsScalingState.FromJson(json);

        var refused = Assert.Throws<ResourceOwnershipException>(() => Planner.PlanRemove(state, null, deregisterTarget: true));
        Assert.Equal("UnmanagedScalingOnTarget", refused.ErrorId);
        Assert.Contains("policy cpu-tracking", refused.Message);
        Assert.Contains("scheduled action nightly", refused.Message);
        Assert.Contains("-DeleteUnmanaged", refused.Message);

        // Without -DeregisterTarget the module's own go and the target stays; with -DeleteUnmanaged the plan says what AWS deletes too.
        Assert.DoesNotContain(Actions(Planner.PlanRemove(state, null, deregisterTarget: false)), a => a.StartsWith("Deregister", StringComparison.Ordinal));
        string last = Actions(Planner.PlanRemove(state, null, deregisterTarget: true, deleteUnmanaged: true)).Last();
        Assert.Equal("Deregister scalable target; AWS deletes with it what PrefectScaling did not make: policy cpu-tracking, scheduled action nightly: service/prod/agent", last);
    }

    [Fact]
    public void PlanRemove_refuses_to_deregister_for_one_scope_while_others_remain()
    {
        JsonObject json = StateAfter(Spec());
        json["Policies"]!.AsArray().Add(StateAfter(Spec(ScalingPolicyKind.TargetTracking, queue: "other"))["Policies"]![0]!.DeepClone());
        var refused = Assert.Throws<ResourceOwnershipException>(() => Planner.PlanRemove(EcsScalingState.FromJson(json), Spec().ScopeNames, deregisterTarget: true));
        Assert.Equal("OtherScopesOnTarget", refused.ErrorId);
    }
}
