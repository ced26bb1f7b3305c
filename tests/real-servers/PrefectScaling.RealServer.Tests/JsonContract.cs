using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PrefectScaling.RealServer.Tests;

/// <summary>Compares a real server's answer with the emulator's: the same keys at every level, the same kind of
/// value (string, number, boolean, null, object, array) everywhere, and the same value wherever the value does
/// not depend on when or where the data was made (ids, timestamps and run names do; for those only the format
/// is compared: a UUID, or a datetime with the same zone suffix).</summary>
public static class JsonContract
{
    /// <summary>Keys whose values differ between two stores seeded alike.</summary>
    private static readonly HashSet<string> Volatile = new(StringComparer.Ordinal)
    {
        "id", "flow_id", "state_id", "deployment_id", "work_queue_id", "work_pool_id", "default_queue_id", "flow_run_id",
        "created", "updated", "timestamp", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time",
        "scheduled_time", "last_polled", "estimated_start_time_delta", "estimated_run_time", "prefect.flow.id", "prefect.deployment.id",
    };

    private static readonly Regex Uuid = new("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", RegexOptions.CultureInvariant);
    private static readonly Regex DateTime = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant);

    /// <param name="ignoreKind">Keys whose very kind depends on how the data was created (e.g. an idempotency
    /// key the seeder set on the real server only); their value is not compared at all.</param>
    /// <param name="ordered">Whether array order counts (a listing sorted by name); else arrays are compared as
    /// multisets, as for runs sorted by a random id.</param>
    public static List<string> Diff(JsonNode? real, JsonNode? emulated, bool ordered, ISet<string>? ignoreKind = null)
    {
        var differences = new List<string>();
        Compare(real, emulated, "$", null, false, ordered, ignoreKind ?? new HashSet<string>(), differences);
        return differences;
    }

    private static void Compare(JsonNode? real, JsonNode? emulated, string path, string? key, bool isVolatile, bool ordered, ISet<string> ignoreKind, List<string> differences)
    {
        if (key != null && ignoreKind.Contains(key)) return;
        string realKind = Kind(real), emulatedKind = Kind(emulated);
        if (realKind != emulatedKind)
        {
            differences.Add($"{path}: real {realKind} {Short(real)}, emulator {emulatedKind} {Short(emulated)}");
            return;
        }
        switch (real)
        {
            case JsonObject realObject:
            {
                var emulatedObject = (JsonObject)emulated!;
                bool isRun = realObject.ContainsKey("flow_id") && realObject.ContainsKey("state_type");
                foreach (var (k, v) in realObject)
                {
                    if (!emulatedObject.TryGetPropertyValue(k, out JsonNode? e)) { differences.Add($"{path}.{k}: only the real server has it ({Kind(v)} {Short(v)})"); continue; }
                    // A run's name is generated (adjective-animal on a real server).
                    Compare(v, e, path + "." + k, k, Volatile.Contains(k) || (isRun && k == "name"), ordered, ignoreKind, differences);
                }
                foreach (var (k, v) in emulatedObject)
                    if (!realObject.ContainsKey(k)) differences.Add($"{path}.{k}: only the emulator has it ({Kind(v)} {Short(v)})");
                break;
            }
            case JsonArray realArray:
            {
                var emulatedArray = (JsonArray)emulated!;
                if (realArray.Count != emulatedArray.Count)
                {
                    differences.Add($"{path}: real has {realArray.Count} items, emulator {emulatedArray.Count}");
                    if (realArray.Count == 0 || emulatedArray.Count == 0) return;
                }
                List<JsonNode?> r = realArray.ToList(), e = emulatedArray.ToList();
                if (!ordered)
                {
                    r = r.OrderBy(Canonical, StringComparer.Ordinal).ToList();
                    e = e.OrderBy(Canonical, StringComparer.Ordinal).ToList();
                }
                for (int i = 0; i < Math.Min(r.Count, e.Count); i++) Compare(r[i], e[i], $"{path}[{i}]", null, false, ordered, ignoreKind, differences);
                break;
            }
            case JsonValue:
            {
                if (isVolatile)
                {
                    if (Format(real) != Format(emulated)) differences.Add($"{path}: real {Short(real)}, emulator {Short(emulated)} (format)");
                }
                else if (!JsonNode.DeepEquals(real, emulated) && !SameNumber(real!, emulated!))
                {
                    differences.Add($"{path}: real {Short(real)}, emulator {Short(emulated)}");
                }
                break;
            }
        }
    }

    private static bool SameNumber(JsonNode a, JsonNode b) =>
        a.GetValueKind() == JsonValueKind.Number && b.GetValueKind() == JsonValueKind.Number && a.GetValue<double>() == b.GetValue<double>();

    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            var k => k.ToString(),
        },
    };

    /// <summary>What a volatile value looks like: a UUID, a datetime and its zone suffix, or its kind.</summary>
    private static string Format(JsonNode? node)
    {
        if (node is not JsonValue || node.GetValueKind() != JsonValueKind.String) return Kind(node);
        string text = node.GetValue<string>();
        if (Uuid.IsMatch(text)) return "uuid";
        Match m = DateTime.Match(text);
        return m.Success ? "datetime" + m.Groups[2].Value : "string";
    }

    /// <summary>Pairs the items of unordered arrays: by the values that say what a run or queue is, then by the
    /// whole item with its volatile values blanked.</summary>
    private static string Canonical(JsonNode? node)
    {
        if (node is null) return "null";
        JsonNode copy = node.DeepClone();
        Blank(copy);
        string identity = copy is JsonObject o
            ? string.Join("|", new[] { "work_pool_name", "work_queue_name", "state_type", "state_name", "name" }.Select(k => o[k]?.ToJsonString() ?? ""))
            : "";
        return identity + "#" + copy.ToJsonString();
    }

    private static void Blank(JsonNode node)
    {
        if (node is JsonObject o)
        {
            bool isRun = o.ContainsKey("flow_id") && o.ContainsKey("state_type");
            foreach (string k in o.Select(p => p.Key).ToList())
            {
                if (Volatile.Contains(k) || (isRun && k == "name")) o[k] = Format(o[k]);
                else if (o[k] is JsonNode child) Blank(child);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (JsonNode? child in a) if (child != null) Blank(child);
        }
    }

    private static string Short(JsonNode? node)
    {
        string text = node?.ToJsonString() ?? "null";
        return text.Length > 160 ? text[..160] + "…" : text;
    }
}
