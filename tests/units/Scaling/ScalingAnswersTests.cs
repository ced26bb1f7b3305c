using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;

namespace PrefectScaling.Scaling.Tests;

/// <summary>Ownership from what AWS answers, without AWS: the answers for service `a` are sorted into the module's own
/// and the rest (service `a-b` shares the first release's name prefix), then planned. Only the module's resources of
/// exactly service `a` are ever changed; a user's alarm or policy is left alone.</summary>
public sealed class ScalingAnswersTests : IDisposable
{
    private const string Account = "123456789012";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private EcsScalingPlanner Planner => new(_aws);

    private static ScalingPolicySpec Spec(string service) =>
        new() { Cluster = "c", Service = service, Scope = BindingScope.From(null, new[] { "q" }), MinCapacity = 0, MaxCapacity = 4, Kind = ScalingPolicyKind.StepScaling };

    private static string PolicyArn(string service, string name) =>
        "arn:aws:autoscaling:eu-west-1:" + Account + ":scalingPolicy:0b7e:resource/ecs/service/c/" + service + ":policyName/" + name;

    private static string AlarmArn(string name) => "arn:aws:cloudwatch:eu-west-1:" + Account + ":alarm:" + name;

    private static JsonObject Policy(string service, string name) => new()
    {
        ["PolicyName"] = name, ["PolicyType"] = "StepScaling", ["ResourceId"] = "service/c/" + service,
        ["ScalableDimension"] = "ecs:service:DesiredCount", ["PolicyARN"] = PolicyArn(service, name),
    };

    /// <summary>An alarm whose one action is <paramref name="actionService"/>'s policy of the alarm's name.</summary>
    private static JsonObject Alarm(string name, string actionService) => new()
    {
        ["AlarmName"] = name, ["AlarmArn"] = AlarmArn(name), ["AlarmActions"] = new JsonArray(PolicyArn(actionService, name)),
    };

    private static JsonArray Tags(string service) => ScalingNames.AlarmTags("c", service);

    /// <summary>What Set made for a service's scope, as Describe answers it: its policies, and its alarms with their tags.</summary>
    private static (List<JsonObject> Policies, List<JsonObject> Alarms, Dictionary<string, JsonNode?> Tags) Made(ScalingPolicySpec spec)
    {
        var policies = new List<JsonObject>();
        var alarms = new List<JsonObject>();
        var tags = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (DesiredPolicy desired in ScalingPolicyDocuments.Policies(spec))
        {
            var policy = (JsonObject)desired.PutInput.DeepClone();
            policy["PolicyARN"] = PolicyArn(spec.Service, desired.Name);
            policies.Add(policy);
            if (desired.Alarm == null) continue;
            var alarm = (JsonObject)desired.Alarm.DeepClone();
            alarm["AlarmArn"] = AlarmArn(desired.Name);
            alarm["AlarmActions"] = new JsonArray(PolicyArn(spec.Service, desired.Name));
            alarms.Add(alarm);
            tags[AlarmArn(desired.Name)] = Tags(spec.Service);
        }
        return (policies, alarms, tags);
    }

    /// <summary>Everything DescribeScalingPolicies and DescribeAlarms could answer when asked about service `a`.</summary>
    private static EcsScalingState ReadA(out ScalingPolicySpec a)
    {
        a = Spec("a");
        ScalingPolicySpec ab = Spec("a-b");
        (List<JsonObject> policies, List<JsonObject> alarms, Dictionary<string, JsonNode?> tags) = Made(a);
        (List<JsonObject> abPolicies, List<JsonObject> abAlarms, Dictionary<string, JsonNode?> abTags) = Made(ab);
        string aLegacy = ScalingNames.LegacyBaseName("c", "a", null, "q");     // PrefectScaling-c-a-q
        string abLegacy = ScalingNames.LegacyBaseName("c", "a-b", null, "q");  // PrefectScaling-c-a-b-q: starts like a's
        Assert.StartsWith(ScalingNames.LegacyServicePrefix("c", "a"), abLegacy);

        // DescribeScalingPolicies for service/c/a, from an endpoint that ignores the filter: a-b's come too.
        policies.Add(Policy("a", aLegacy + ":out"));
        policies.Add(Policy("a", "cpu-tracking"));                      // the user's own policy on a's target
        policies.AddRange(abPolicies);
        // DescribeAlarms for a's two prefixes, and again a-b's (an endpoint that ignores AlarmNamePrefix).
        alarms.Add(Alarm(aLegacy + ":out", "a"));                       // the first release's: no tags, actions prove it
        alarms.Add(Alarm(abLegacy + ":out", "a-b"));                    // a-b's first release, under a's legacy prefix
        alarms.Add(Alarm("PrefectScaling/c/a/my-alarm", "a"));          // the user's, under a's new head
        alarms.AddRange(abAlarms);
        foreach (var (arn, t) in abTags) tags[arn] = t;
        return EcsScalingState.FromAnswers("c", "a", ScalingPolicyDocuments.ScalableTarget(a), policies, alarms, tags);
    }

    private static List<string> Names(IEnumerable<JsonObject> items, string key) => items.Select(i => (string)i[key]!).OrderBy(n => n, StringComparer.Ordinal).ToList();

    [Fact]
    public void The_answers_for_a_keep_a_s_own_and_set_aside_the_user_s_and_a_b_s()
    {
        EcsScalingState state = ReadA(out ScalingPolicySpec a);
        string aLegacy = ScalingNames.LegacyBaseName("c", "a", null, "q");

        Assert.Equal(new[] { a.BaseName + ":in", a.BaseName + ":out", aLegacy + ":out" }.OrderBy(n => n, StringComparer.Ordinal), Names(state.Policies, "PolicyName"));
        Assert.Equal(new[] { "cpu-tracking" }, Names(state.OtherPolicies, "PolicyName"));
        Assert.Equal(new[] { a.BaseName + ":in", a.BaseName + ":out", aLegacy + ":out" }.OrderBy(n => n, StringComparer.Ordinal), Names(state.Alarms, "AlarmName"));
        // a-b's first-release alarm has a's legacy prefix but a-b's actions: not a's, never touched.
        Assert.Equal(new[] { ScalingNames.LegacyBaseName("c", "a-b", null, "q") + ":out" }, Names(state.OtherAlarms, "AlarmName"));
        Assert.DoesNotContain(state.Policies.Concat(state.OtherPolicies), p => ((string)p["ResourceId"]!).EndsWith("/a-b", StringComparison.Ordinal));
    }

    [Fact]
    public void A_new_style_alarm_is_a_s_only_with_tags_naming_a()
    {
        ScalingPolicySpec a = Spec("a");
        JsonObject alarm = Alarm(a.BaseName + ":out", "a");
        EcsScalingState Sort(JsonNode? tags) => EcsScalingState.FromAnswers("c", "a", null, Array.Empty<JsonObject>(), new[] { alarm },
            new Dictionary<string, JsonNode?> { [AlarmArn(a.BaseName + ":out")] = tags });

        Assert.Single(Sort(Tags("a")).Alarms);
        Assert.Single(Sort(Tags("a-b")).OtherAlarms);
        Assert.Single(Sort(new JsonArray()).OtherAlarms);
        Assert.True(EcsScalingState.NeedsTags(alarm, "c", "a"));
        // The first release's names, and alarms whose actions are not a's policy, are decided without tags.
        Assert.False(EcsScalingState.NeedsTags(Alarm(ScalingNames.LegacyBaseName("c", "a", null, "q") + ":out", "a"), "c", "a"));
        Assert.False(EcsScalingState.NeedsTags(Alarm(a.BaseName + ":out", "a-b"), "c", "a"));
        Assert.False(EcsScalingState.NeedsTags(Alarm("PrefectScaling/c/a/my-alarm", "a"), "c", "a"));
    }

    [Fact]
    public void Removing_a_deletes_a_s_own_alarms_and_policies_and_nothing_else()
    {
        EcsScalingState state = ReadA(out ScalingPolicySpec a);
        string aLegacy = ScalingNames.LegacyBaseName("c", "a", null, "q");
        List<AwsChange> changes = Planner.PlanRemove(state, null, deregisterTarget: false);

        Assert.Equal(new[]
        {
            "Delete CloudWatch alarm: " + a.BaseName + ":out",
            "Delete CloudWatch alarm: " + a.BaseName + ":in",
            "Delete CloudWatch alarm: " + aLegacy + ":out",
            "Delete scaling policy: " + a.BaseName + ":out",
            "Delete scaling policy: " + a.BaseName + ":in",
            "Delete scaling policy: " + aLegacy + ":out",
        }, changes.Select(c => c.ToString()));
        Assert.DoesNotContain(changes, c => c.Target.Contains("a-b", StringComparison.Ordinal) || c.Target == "cpu-tracking" || c.Target.EndsWith("my-alarm", StringComparison.Ordinal));

        // Deregistering the target would take the user's policy with it: refused.
        var refused = Assert.Throws<ResourceOwnershipException>(() => Planner.PlanRemove(state, null, deregisterTarget: true));
        Assert.Contains("policy cpu-tracking", refused.Message);
    }

    [Fact]
    public void Setting_a_again_replaces_only_a_s_first_release_names()
    {
        EcsScalingState state = ReadA(out ScalingPolicySpec a);
        string aLegacy = ScalingNames.LegacyBaseName("c", "a", null, "q");
        Assert.Equal(new[] { "Delete scaling policy and its alarm: " + aLegacy + ":out" }, Planner.PlanSet(a, state).Select(c => c.ToString()));
    }

    [Fact]
    public void The_answers_for_a_b_never_reach_a_s_first_release_names()
    {
        ScalingPolicySpec a = Spec("a"), ab = Spec("a-b");
        (List<JsonObject> policies, List<JsonObject> alarms, Dictionary<string, JsonNode?> tags) = Made(ab);
        alarms.Add(Alarm(ScalingNames.LegacyBaseName("c", "a", null, "q") + ":out", "a"));
        alarms.AddRange(Made(a).Alarms);
        EcsScalingState state = EcsScalingState.FromAnswers("c", "a-b", ScalingPolicyDocuments.ScalableTarget(ab), policies, alarms, tags);

        Assert.Equal(new[] { ab.BaseName + ":in", ab.BaseName + ":out" }, Names(state.Alarms, "AlarmName"));
        Assert.Empty(state.OtherAlarms);
        Assert.Empty(Planner.PlanSet(ab, state));
    }
}
