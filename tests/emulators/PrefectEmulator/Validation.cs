using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>Collects pydantic-style validation errors (v1 items for 2.x modes, v2 items for 3.x/Cloud).</summary>
internal sealed class VCtx
{
    public VCtx(bool pydanticV2, bool numbersAsDatetimes)
    {
        V2 = pydanticV2;
        NumbersAsDatetimes = numbersAsDatetimes;
    }

    public bool V2 { get; }
    public bool NumbersAsDatetimes { get; }
    public JsonArray Errors { get; } = new();
    public List<string> Unimplemented { get; } = new();

    public void Error(IReadOnlyList<object> loc, JsonElement? input, string v1Type, string v1Msg, string v2Type, string v2Msg,
        JsonObject? v1Ctx = null, JsonObject? v2Ctx = null)
    {
        var locArr = new JsonArray();
        foreach (var l in loc) locArr.Add(l is int i ? JsonValue.Create(i) : JsonValue.Create((string)l));
        JsonObject item;
        if (V2)
        {
            item = new JsonObject
            {
                ["type"] = v2Type,
                ["loc"] = locArr,
                ["msg"] = v2Msg,
                ["input"] = input is { } e ? JsonNode.Parse(e.GetRawText()) : null,
            };
            if (v2Ctx is not null) item["ctx"] = v2Ctx;
        }
        else
        {
            item = new JsonObject { ["loc"] = locArr, ["msg"] = v1Msg, ["type"] = v1Type };
            if (v1Ctx is not null) item["ctx"] = v1Ctx;
        }
        Errors.Add(item);
    }
}

internal abstract class SNode
{
    /// <summary>Validates a non-null JSON value; returns the converted value, or null after recording an error.</summary>
    public abstract object? Validate(JsonElement e, List<object> loc, VCtx ctx);

    protected static List<object> Sub(List<object> loc, object key)
    {
        var l = new List<object>(loc.Count + 1);
        l.AddRange(loc);
        l.Add(key);
        return l;
    }
}

internal sealed class StrNode : SNode
{
    public static readonly StrNode I = new();
    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind == JsonValueKind.String) return e.GetString();
        if (e.ValueKind == JsonValueKind.Null)
            ctx.Error(loc, e, "type_error.none.not_allowed", "none is not an allowed value", "string_type", "Input should be a valid string");
        else
            ctx.Error(loc, e, "type_error.str", "str type expected", "string_type", "Input should be a valid string");
        return null;
    }
}

internal sealed class BoolNode : SNode
{
    public static readonly BoolNode I = new();
    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False) return e.GetBoolean();
        ctx.Error(loc, e, "type_error.bool", "value could not be parsed to a boolean", "bool_type", "Input should be a valid boolean");
        return null;
    }
}

internal sealed class IntNode : SNode
{
    private readonly long? _ge;
    public IntNode(long? ge = null) { _ge = ge; }
    public static readonly IntNode I = new();

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        var v = ParseInt(e, loc, ctx);
        if (v is null) return null;
        if (_ge is long ge && v < ge)
        {
            ctx.Error(loc, e, "value_error.number.not_ge", $"ensure this value is greater than or equal to {ge}",
                "greater_than_equal", $"Input should be greater than or equal to {ge}",
                new JsonObject { ["limit_value"] = ge }, new JsonObject { ["ge"] = ge });
            return null;
        }
        return v;
    }

    /// <summary>Strict integer: JSON integers (or integral floats); strings and booleans are rejected.</summary>
    public static long? ParseInt(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (e.TryGetInt64(out var l)) return l;
            if (e.TryGetDouble(out var d) && Math.Floor(d) == d && !double.IsInfinity(d))
                return d >= long.MaxValue ? long.MaxValue : d <= long.MinValue ? long.MinValue : (long)d;
            ctx.Error(loc, e, "type_error.integer", "value is not a valid integer",
                "int_from_float", "Input should be a valid integer, got a number with a fractional part");
            return null;
        }
        if (e.ValueKind == JsonValueKind.String)
            ctx.Error(loc, e, "type_error.integer", "value is not a valid integer",
                "int_parsing", "Input should be a valid integer, unable to parse string as an integer");
        else
            ctx.Error(loc, e, "type_error.integer", "value is not a valid integer", "int_type", "Input should be a valid integer");
        return null;
    }
}

internal sealed class UuidNode : SNode
{
    public static readonly UuidNode I = new();
    private static readonly Regex Shape = new("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", RegexOptions.CultureInvariant);

    public static bool TryParse(string? s, out Guid g)
    {
        g = Guid.Empty;
        return s is not null && Shape.IsMatch(s) && Guid.TryParseExact(s, "D", out g);
    }

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            if (TryParse(e.GetString(), out var g)) return g;
            ctx.Error(loc, e, "type_error.uuid", "value is not a valid uuid",
                "uuid_parsing", "Input should be a valid UUID, invalid character or length");
            return null;
        }
        ctx.Error(loc, e, "type_error.uuid", "value is not a valid uuid",
            "uuid_type", "UUID input should be a string, bytes or UUID object");
        return null;
    }
}

internal sealed class EnumNode : SNode
{
    private readonly string[] _values;
    private readonly HashSet<string> _set;
    public EnumNode(params string[] values)
    {
        _values = values;
        _set = new HashSet<string>(values, StringComparer.Ordinal);
    }

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind == JsonValueKind.String && _set.Contains(e.GetString()!)) return e.GetString();
        var quoted = _values.Select(v => $"'{v}'").ToArray();
        var v2List = quoted.Length == 1 ? quoted[0] : string.Join(", ", quoted[..^1]) + " or " + quoted[^1];
        var enumValues = new JsonArray();
        foreach (var v in _values) enumValues.Add(v);
        ctx.Error(loc, e, "type_error.enum", "value is not a valid enumeration member; permitted: " + string.Join(", ", quoted),
            "enum", "Input should be " + v2List,
            new JsonObject { ["enum_values"] = enumValues }, new JsonObject { ["expected"] = v2List });
        return null;
    }
}

internal sealed class DateTimeNode : SNode
{
    public static readonly DateTimeNode I = new();
    private static readonly Regex Iso = new(
        @"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$",
        RegexOptions.CultureInvariant);

    public static bool TryParse(string s, out DateTimeOffset value)
    {
        value = default;
        var m = Iso.Match(s.Trim());
        if (!m.Success) return false;
        try
        {
            int Y = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Mo = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                D = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            int h = m.Groups[4].Success ? int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) : 0;
            int mi = m.Groups[5].Success ? int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture) : 0;
            int sec = m.Groups[6].Success ? int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture) : 0;
            long ticks = 0;
            if (m.Groups[7].Success)
            {
                var frac = (m.Groups[7].Value + "0000000")[..7];
                ticks = long.Parse(frac, CultureInfo.InvariantCulture);
            }
            var offset = TimeSpan.Zero;
            if (m.Groups[8].Success && m.Groups[8].Value is not ("Z" or "z"))
            {
                var o = m.Groups[8].Value.Replace(":", "");
                var sign = o[0] == '-' ? -1 : 1;
                var oh = int.Parse(o.Substring(1, 2), CultureInfo.InvariantCulture);
                var om = o.Length >= 5 ? int.Parse(o.Substring(3, 2), CultureInfo.InvariantCulture) : 0;
                if (oh > 23 || om > 59) return false;
                offset = TimeSpan.FromMinutes(sign * (oh * 60 + om));
            }
            value = new DateTimeOffset(Y, Mo, D, h, mi, sec, offset).AddTicks(ticks).ToUniversalTime();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            if (TryParse(e.GetString()!, out var v)) return v;
            ctx.Error(loc, e, "value_error", $"Unable to parse string [{e.GetString()}]",
                "datetime_parsing", "Input should be a valid datetime, invalid datetime format");
            return null;
        }
        if (e.ValueKind == JsonValueKind.Number && ctx.NumbersAsDatetimes && e.TryGetDouble(out var d))
        {
            // pydantic v2: unix seconds, or milliseconds when above 2e10.
            var secs = Math.Abs(d) > 2e10 ? d / 1000.0 : d;
            try { return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(secs * 1000.0)); }
            catch (ArgumentOutOfRangeException) { }
        }
        ctx.Error(loc, e, "value_error", "Unrecognized datetime.", "datetime_type", "Input should be a valid datetime");
        return null;
    }
}

internal sealed class ListNode : SNode
{
    private readonly SNode _item;
    public ListNode(SNode item) { _item = item; }

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            ctx.Error(loc, e, "type_error.list", "value is not a valid list", "list_type", "Input should be a valid list");
            return null;
        }
        var result = new List<object?>();
        var ok = true;
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var before = ctx.Errors.Count;
            var v = _item.Validate(item, Sub(loc, i), ctx);
            if (ctx.Errors.Count != before) ok = false;
            result.Add(v);
            i++;
        }
        return ok ? result : null;
    }
}

/// <summary>A pydantic model with extra="forbid". Fields listed in <c>unimplemented</c> exist in the real schema
/// but the emulator does not evaluate them: a non-null value makes the request answer 500.</summary>
internal sealed class ObjNode : SNode
{
    public string ClassName { get; }
    private readonly (string Name, SNode Node)[] _fields;
    private readonly HashSet<string> _unimplemented;

    public ObjNode(string className, (string, SNode)[] fields, params string[] unimplemented)
    {
        ClassName = className;
        _fields = fields;
        _unimplemented = new HashSet<string>(unimplemented, StringComparer.Ordinal);
    }

    public override object? Validate(JsonElement e, List<object> loc, VCtx ctx)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            ctx.Error(loc, e, "type_error.dict", "value is not a valid dict",
                "model_type", $"Input should be a valid dictionary or instance of {ClassName}",
                null, new JsonObject { ["class_name"] = ClassName });
            return null;
        }
        var props = LastWins(e);
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        var before = ctx.Errors.Count;
        foreach (var (name, node) in _fields)
        {
            if (!props.TryGetValue(name, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            result[name] = node.Validate(v, Sub(loc, name), ctx);
        }
        foreach (var (key, v) in props)
        {
            if (_fields.Any(f => f.Name == key)) continue;
            if (_unimplemented.Contains(key))
            {
                if (v.ValueKind != JsonValueKind.Null) ctx.Unimplemented.Add(string.Join(".", loc.Skip(1)) + "." + key);
                continue;
            }
            ctx.Error(Sub(loc, key), v, "value_error.extra", "extra fields not permitted", "extra_forbidden", "Extra inputs are not permitted");
        }
        return ctx.Errors.Count == before ? result : null;
    }

    public static List<KeyValuePair<string, JsonElement>> LastWinsList(JsonElement e)
    {
        var d = LastWins(e);
        return d.ToList();
    }

    public static Dictionary<string, JsonElement> LastWins(JsonElement e)
    {
        var d = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) d[p.Name] = p.Value;
        return d;
    }
}

/// <summary>The filter schemas, per API generation.</summary>
internal sealed class Schemas
{
    public static readonly string[] SortValues =
    {
        "ID_DESC", "START_TIME_ASC", "START_TIME_DESC", "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC",
        "NAME_ASC", "NAME_DESC", "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC",
    };

    public ObjNode FlowRunFilter { get; }
    public ObjNode WorkQueueFilter { get; }
    public ObjNode WorkPoolFilter { get; }
    public EnumNode Sort { get; } = new(SortValues);

    public Schemas(bool v3)
    {
        var op = new EnumNode("and_", "or_");
        var uuids = new ListNode(UuidNode.I);
        var strs = new ListNode(StrNode.I);
        var stateTypes = new ListNode(new EnumNode(Store.StateTypes));
        var dt = DateTimeNode.I;
        var b = BoolNode.I;

        var tagsFields = new List<(string, SNode)> { ("operator", op), ("all_", strs) };
        if (v3) tagsFields.Add(("any_", strs));
        tagsFields.Add(("is_null_", b));

        var stateTypeFields = new List<(string, SNode)> { ("any_", stateTypes) };
        var stateNameFields = new List<(string, SNode)> { ("any_", strs) };
        if (v3)
        {
            stateTypeFields.Add(("not_any_", stateTypes));
            stateNameFields.Add(("not_any_", strs));
        }

        var fields = new List<(string, SNode)>
        {
            ("operator", op),
            ("id", new ObjNode("FlowRunFilterId", new (string, SNode)[] { ("any_", uuids), ("not_any_", uuids) })),
            ("name", new ObjNode("FlowRunFilterName", new (string, SNode)[] { ("any_", strs), ("like_", StrNode.I) })),
            ("tags", new ObjNode("FlowRunFilterTags", tagsFields.ToArray())),
            ("deployment_id", new ObjNode("FlowRunFilterDeploymentId", new (string, SNode)[] { ("operator", op), ("any_", uuids), ("is_null_", b) })),
            ("work_queue_name", new ObjNode("FlowRunFilterWorkQueueName", new (string, SNode)[] { ("operator", op), ("any_", strs), ("is_null_", b) })),
            ("state", new ObjNode("FlowRunFilterState", new (string, SNode)[]
            {
                ("operator", op),
                ("type", new ObjNode("FlowRunFilterStateType", stateTypeFields.ToArray())),
                ("name", new ObjNode("FlowRunFilterStateName", stateNameFields.ToArray())),
            })),
            ("flow_version", new ObjNode("FlowRunFilterFlowVersion", new (string, SNode)[] { ("any_", strs) })),
            ("start_time", new ObjNode("FlowRunFilterStartTime", new (string, SNode)[] { ("before_", dt), ("after_", dt), ("is_null_", b) })),
        };
        if (v3)
            fields.Add(("end_time", new ObjNode("FlowRunFilterEndTime", new (string, SNode)[] { ("before_", dt), ("after_", dt), ("is_null_", b) })));
        fields.Add(("expected_start_time", new ObjNode("FlowRunFilterExpectedStartTime", new (string, SNode)[] { ("before_", dt), ("after_", dt) })));
        fields.Add(("next_scheduled_start_time", new ObjNode("FlowRunFilterNextScheduledStartTime", new (string, SNode)[] { ("before_", dt), ("after_", dt) })));

        var unimplemented = v3
            ? new[] { "parent_flow_run_id", "parent_task_run_id", "idempotency_key", "created_by" }
            : new[] { "parent_flow_run_id", "parent_task_run_id", "idempotency_key" };
        FlowRunFilter = new ObjNode("FlowRunFilter", fields.ToArray(), unimplemented);

        WorkQueueFilter = new ObjNode("WorkQueueFilter", new (string, SNode)[]
        {
            ("operator", op),
            ("id", new ObjNode("WorkQueueFilterId", new (string, SNode)[] { ("any_", uuids) })),
            ("name", new ObjNode("WorkQueueFilterName", new (string, SNode)[] { ("any_", strs), ("startswith_", strs) })),
        });
        WorkPoolFilter = new ObjNode("WorkPoolFilter", new (string, SNode)[]
        {
            ("operator", op),
            ("id", new ObjNode("WorkPoolFilterId", new (string, SNode)[] { ("any_", uuids) })),
            ("name", new ObjNode("WorkPoolFilterName", new (string, SNode)[] { ("any_", strs) })),
            ("type", new ObjNode("WorkPoolFilterType", new (string, SNode)[] { ("any_", strs) })),
        });
    }
}
