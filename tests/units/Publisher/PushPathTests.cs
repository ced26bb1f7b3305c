using System.Text.Json.Nodes;
using PrefectScaling.Bindings;
using Xunit;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The push path's pure parts: how its permissions are recognised in either form, the names it gives the
/// Prefect side, the automation it writes and when one read back needs no rewrite, and the spec's rules.</summary>
public sealed class PushPathTests
{
    private static readonly ServiceBinding Pool = new("prod", "workers", BindingScope.From(new[] { "pool-a" }, null));

    // As AWS answers GetPolicy: AddPermission's FunctionUrlAuthType and InvokedViaFunctionUrl become conditions.
    private const string AwsUrl = """{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"arn:aws:lambda:us-east-1:1:function:f","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}""";
    private const string AwsInvoke = """{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:1:function:f","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}""";

    // As moto answers it: the fields kept as given.
    private const string MotoUrl = """{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","FunctionUrlAuthType":"NONE"}""";
    private const string MotoInvoke = """{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","InvokedViaFunctionUrl":true}""";

    [Theory]
    [InlineData(AwsUrl, true)]
    [InlineData(MotoUrl, true)]
    [InlineData("""{"Action":"lambda:InvokeFunctionUrl","Principal":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}}""", false)]
    [InlineData("""{"Action":"lambda:InvokeFunctionUrl","Principal":{"AWS":"arn:aws:iam::1:root"},"FunctionUrlAuthType":"NONE"}""", false)]
    [InlineData(AwsInvoke, false)]
    public void The_url_permission_is_known_in_both_forms(string statement, bool expected) =>
        Assert.Equal(expected, PushPath.IsUrlPermission(JsonNode.Parse(statement)!.AsObject()));

    [Theory]
    [InlineData(AwsInvoke, true)]
    [InlineData(MotoInvoke, true)]
    [InlineData("""{"Action":"lambda:InvokeFunction","Principal":"*"}""", false)]
    [InlineData("""{"Action":"lambda:InvokeFunction","Principal":"*","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"false"}}}""", false)]
    [InlineData(AwsUrl, false)]
    public void The_invoke_permission_must_be_limited_to_the_url(string statement, bool expected) =>
        Assert.Equal(expected, PushPath.IsUrlInvokePermission(JsonNode.Parse(statement)!.AsObject()));

    [Theory]
    [InlineData("prefect-backlog-publisher", "prefectscaling-push-prefect-backlog-publisher")]
    [InlineData("Team_A", "prefectscaling-push-team-a-")]
    public void Block_names_are_lower_case_and_never_shared(string publisher, string starts)
    {
        string name = PushPath.BlockName(publisher);
        Assert.StartsWith(starts, name, StringComparison.Ordinal);
        Assert.Matches("^[a-z0-9-]+$", name);
        Assert.NotEqual(PushPath.BlockName("team-a"), PushPath.BlockName("Team_A"));
    }

    [Fact]
    public void The_automation_triggers_on_late_runs_of_the_bindings_pools_and_queues_and_calls_the_block()
    {
        var mixed = new ServiceBinding("prod", "etl", BindingScope.Of(new[] { new BindingScope.PoolPart("pool-b", new[] { "q1" }) }, new[] { "loose" }));
        JsonObject automation = PushPath.Automation("pub", mixed, "block-1", 15);
        JsonNode trigger = automation["trigger"]!;
        Assert.Equal("Reactive", (string?)trigger["posture"]);
        Assert.Equal("prefect.flow-run.Late", (string?)trigger["expect"]![0]);
        Assert.Equal(15, (int)trigger["within"]!);
        Assert.Equal(new[] { "work-pool", "work-queue" }, trigger["match_related"]!["prefect.resource.role"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(new[] { "loose", "pool-b" }, trigger["match_related"]!["prefect.resource.name"]!.AsArray().Select(n => (string)n!));
        JsonNode action = automation["actions"]![0]!;
        Assert.Equal("call-webhook", (string?)action["type"]);
        Assert.Equal("block-1", (string?)action["block_document_id"]);
        Assert.Contains("work_pool.name | tojson", (string)action["payload"]!, StringComparison.Ordinal);
        Assert.Contains(PushPath.PublisherTag("pub"), automation["tags"]!.AsArray().Select(t => (string)t!));
        Assert.StartsWith(PushPath.DescriptionMarker("pub"), (string)automation["description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void An_automation_read_back_as_the_server_answers_it_needs_no_rewrite_and_a_changed_one_does()
    {
        JsonObject written = PushPath.Automation("pub", Pool, "block-1", 15);
        // The server adds ids and timestamps, answers within as 15.0 and keeps the rest as given.
        JsonObject read = JsonNode.Parse(written.ToJsonString().Replace("\"within\":15", "\"within\":15.0", StringComparison.Ordinal))!.AsObject();
        read["id"] = "a-1";
        read["created"] = "2026-01-01T00:00:00Z";
        read["trigger"]!["id"] = "t-1";
        Assert.Equal(PushPath.Fingerprint(written), PushPath.Fingerprint(read));
        Assert.NotEqual(PushPath.Fingerprint(written), PushPath.Fingerprint(PushPath.Automation("pub", Pool, "block-1", 30)));
        Assert.NotEqual(PushPath.Fingerprint(written), PushPath.Fingerprint(PushPath.Automation("pub", Pool, "block-2", 15)));
    }

    [Fact]
    public void New_secrets_are_random_and_long()
    {
        string a = PushPath.NewSecret(), b = PushPath.NewSecret();
        Assert.NotEqual(a, b);
        Assert.Equal(43, a.Length);
        Assert.Matches("^[A-Za-z0-9_-]+$", a);
    }

    [Fact]
    public void Push_needs_bindings_and_writes_only_the_secrets_parameter_name_into_the_environment()
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, Push = true };
        spec.Configuration.ApiUrl = "https://prefect.example/api";
        Assert.Contains("-Push wakes bindings", Assert.Throws<ArgumentException>(spec.Validate).Message, StringComparison.Ordinal);

        spec.Configuration.Bindings = new[] { Pool };
        spec.Validate();
        Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
        Assert.Equal("/prefectscaling/pub/push-secret", environment[PublisherConfiguration.PushSecretParameterVariable]);
        Assert.Equal(spec.Configuration.PushSecretParameter, PublisherConfiguration.FromEnvironment(n => environment.TryGetValue(n, out string? v) ? v : null).PushSecretParameter);

        spec.Push = false;
        spec.Validate();
        Assert.DoesNotContain(PublisherConfiguration.PushSecretParameterVariable, spec.Configuration.ToEnvironment().Keys);
    }
}
