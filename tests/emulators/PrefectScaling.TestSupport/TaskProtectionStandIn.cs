using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Aws;

namespace PrefectScaling.TestSupport;

/// <summary>tests/emulators/aws/task_protection.py in front of a moto: it answers ECS UpdateTaskProtection and
/// GetTaskProtection (which moto lacks), signature-checked, and passes everything else to moto unchanged. Also helps
/// tests give a service running tasks in moto (moto starts none for a service).</summary>
public sealed class TaskProtectionStandIn : IAsyncDisposable
{
    private static readonly Regex Listening = new(@"listening on (http://127\.0\.0\.1:\d+)", RegexOptions.CultureInvariant);
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private TaskProtectionStandIn(Process process, string url, MotoServer moto)
    {
        _process = process;
        Url = url;
        Moto = moto;
    }

    public string Url { get; }
    public MotoServer Moto { get; }

    public static async Task<TaskProtectionStandIn> StartAsync(MotoServer moto)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ScriptPath());
        start.ArgumentList.Add(moto.Url);
        start.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Process process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        Task<string?> line = process.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(line, Task.Delay(TimeSpan.FromSeconds(60))) != line || line.Result == null || !Listening.IsMatch(line.Result))
        {
            if (!process.HasExited) process.Kill(true);
            throw new InvalidOperationException("The task protection stand-in did not start (said: '" + (line.IsCompleted ? line.Result : "nothing") + "').");
        }
        var standIn = new TaskProtectionStandIn(process, Listening.Match(line.Result).Groups[1].Value, moto);
        // moto moves a task on from RUNNING each time it is described; tasks here stay as they were started.
        using var manual = new StringContent("""{"model_name":"ecs::task","transition":{"progression":"manual","times":1000000}}""", Encoding.UTF8, "application/json");
        (await standIn._http.PostAsync(moto.Url + "/moto-api/state-manager/set-transition", manual)).EnsureSuccessStatusCode();
        return standIn;
    }

    private static string ScriptPath()
    {
        for (string? dir = AppContext.BaseDirectory; dir != null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "emulators", "aws", "task_protection.py");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/emulators/aws/task_protection.py was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A context whose every call goes through the stand-in (moto's dummy keys, which it checks signatures with).</summary>
    public AwsContext Context(string? region = null, string secretKey = "testing") => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = secretKey, Region = region ?? MotoServer.DefaultRegion, EndpointUrl = Url },
        _ => null, null);

    /// <summary>The tasks protected now, by ARN, with their expiry (epoch seconds).</summary>
    public async Task<Dictionary<string, double>> ProtectedAsync()
    {
        JsonNode state = JsonNode.Parse(await _http.GetStringAsync(Url + "/_protection"))!;
        return state["protected"]!.AsArray().ToDictionary(p => (string)p!["taskArn"]!, p => (double)p!["expirationDate"]!, StringComparer.Ordinal);
    }

    /// <summary>Every UpdateTaskProtection/GetTaskProtection request so far, in order.</summary>
    public async Task<List<(string Operation, JsonObject Request)>> CallsAsync()
    {
        JsonNode state = JsonNode.Parse(await _http.GetStringAsync(Url + "/_protection"))!;
        return state["calls"]!.AsArray().Select(c => ((string)c!["operation"]!, c["request"]!.AsObject())).ToList();
    }

    /// <summary>The next <paramref name="times"/> calls of an operation answer every task as a failure with that reason.</summary>
    public async Task RefuseTasksAsync(string operation, string reason, int times = 1)
    {
        using var body = new StringContent(new JsonObject { ["operation"] = operation, ["reason"] = reason, ["times"] = times }.ToJsonString(), Encoding.UTF8, "application/json");
        (await _http.PostAsync(Url + "/_protection/faults", body)).EnsureSuccessStatusCode();
    }

    /// <summary>The next <paramref name="times"/> calls of an operation fail with that error.</summary>
    public async Task FailAsync(string operation, string code = "ServerException", int status = 500, int times = 1)
    {
        using var body = new StringContent(new JsonObject { ["operation"] = operation, ["code"] = code, ["status"] = status, ["times"] = times }.ToJsonString(), Encoding.UTF8, "application/json");
        (await _http.PostAsync(Url + "/_protection/faults", body)).EnsureSuccessStatusCode();
    }

    /// <summary>A cluster with a service and <paramref name="tasks"/> running awsvpc tasks of it (run as the
    /// service's group, since moto's services start none), and one task of no service. Returns the service's tasks'
    /// ARNs with their private IPs and DNS names.</summary>
    public async Task<List<(string Arn, string Ip, string DnsName)>> ServiceWithTasksAsync(AwsContext aws, string cluster, string service, int tasks)
    {
        var log = NullEngineLog.Instance;
        string subnet = await DefaultSubnetAsync(aws.Region);
        await aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = cluster }, log, default);
        await aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
             "containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), log, default);
        var network = new JsonObject { ["awsvpcConfiguration"] = new JsonObject { ["subnets"] = new JsonArray(subnet), ["securityGroups"] = new JsonArray() } };
        await aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject
        {
            ["cluster"] = cluster, ["serviceName"] = service, ["taskDefinition"] = "worker", ["desiredCount"] = tasks, ["launchType"] = "FARGATE",
            ["networkConfiguration"] = network.DeepClone(),
        }, log, default);
        JsonNode run = (await aws.InvokeAsync(AwsOperations.Ecs.RunTask, new JsonObject
        {
            ["cluster"] = cluster, ["taskDefinition"] = "worker", ["count"] = tasks, ["launchType"] = "FARGATE", ["group"] = "service:" + service,
            ["networkConfiguration"] = network.DeepClone(),
        }, log, default))!;
        await aws.InvokeAsync(AwsOperations.Ecs.RunTask, new JsonObject
        {
            ["cluster"] = cluster, ["taskDefinition"] = "worker", ["count"] = 1, ["launchType"] = "FARGATE", ["networkConfiguration"] = network.DeepClone(),
        }, log, default);
        return run["tasks"]!.AsArray().Select(t =>
        {
            var details = t!["attachments"]!.AsArray()[0]!["details"]!.AsArray().ToDictionary(d => (string)d!["name"]!, d => (string)d!["value"]!);
            return ((string)t["taskArn"]!, details["privateIPv4Address"], details["privateDnsName"]);
        }).ToList();
    }

    /// <summary>One of moto's default subnets (the module has no EC2 client; moto reads the region from the scope).</summary>
    private async Task<string> DefaultSubnetAsync(string region)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Moto.Url + "/") { Content = new StringContent("Action=DescribeSubnets&Version=2016-11-15", Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/" + region + "/ec2/aws4_request, SignedHeaders=host, Signature=" + new string('0', 64));
        using HttpResponseMessage response = await _http.SendAsync(request);
        string xml = await response.Content.ReadAsStringAsync();
        Match id = Regex.Match(xml, "<subnetId>(subnet-[0-9a-f]+)</subnetId>");
        return id.Success ? id.Groups[1].Value : throw new InvalidOperationException("moto listed no subnet: " + xml);
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
