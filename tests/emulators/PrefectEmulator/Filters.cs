using System.Text;
using System.Text.RegularExpressions;

namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>Turns validated filter dictionaries into predicates with Prefect's SQL semantics
/// (criteria list empty = true; and_/or_ operator; NULL columns never match IN/comparisons).</summary>
internal static class Filters
{
    private static object? Get(Dictionary<string, object?> d, string key) => d.TryGetValue(key, out var v) ? v : null;
    private static Dictionary<string, object?>? Obj(Dictionary<string, object?> d, string key) => Get(d, key) as Dictionary<string, object?>;
    private static List<object?>? List(Dictionary<string, object?> d, string key) => Get(d, key) as List<object?>;
    private static bool IsOr(Dictionary<string, object?> d) => Get(d, "operator") as string == "or_";

    private static Func<T, bool> Combine<T>(List<Func<T, bool>> preds, bool or)
    {
        if (preds.Count == 0) return static _ => true;
        if (preds.Count == 1) return preds[0];
        var arr = preds.ToArray();
        if (or) return x => { foreach (var p in arr) if (p(x)) return true; return false; };
        return x => { foreach (var p in arr) if (!p(x)) return false; return true; };
    }

    private static HashSet<string> StrSet(List<object?> l) => new(l.Select(x => (string)x!), StringComparer.Ordinal);
    private static HashSet<Guid> GuidSet(List<object?> l) => new(l.Select(x => (Guid)x!));

    /// <summary>SQL ILIKE pattern (with % and _ wildcards) as a regex.</summary>
    public static Regex Like(string pattern, bool anchoredStart, bool anchoredEnd)
    {
        var sb = new StringBuilder();
        if (anchoredStart) sb.Append('^');
        foreach (var c in pattern)
        {
            if (c == '%') sb.Append(".*");
            else if (c == '_') sb.Append('.');
            else sb.Append(Regex.Escape(c.ToString()));
        }
        if (anchoredEnd) sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }

    private static void Times<T>(List<Func<T, bool>> preds, Dictionary<string, object?>? d, Func<T, DateTimeOffset?> col, bool hasIsNull)
    {
        if (d is null) return;
        if (Get(d, "before_") is DateTimeOffset b) preds.Add(x => col(x) is DateTimeOffset v && v <= b);
        if (Get(d, "after_") is DateTimeOffset a) preds.Add(x => col(x) is DateTimeOffset v && v >= a);
        if (hasIsNull && Get(d, "is_null_") is bool n) preds.Add(x => (col(x) is null) == n);
    }

    public static Func<RunEntity, bool> FlowRun(Dictionary<string, object?> f, bool v3)
    {
        var top = new List<Func<RunEntity, bool>>();

        if (Obj(f, "id") is { } id)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(id, "any_") is { } any) { var s = GuidSet(any); p.Add(r => s.Contains(r.Id)); }
            if (List(id, "not_any_") is { } nany) { var s = GuidSet(nany); p.Add(r => !s.Contains(r.Id)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "name") is { } name)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(name, "any_") is { } any) { var s = StrSet(any); p.Add(r => s.Contains(r.Name)); }
            if (Get(name, "like_") is string like) { var rx = Like(like, false, false); p.Add(r => rx.IsMatch(r.Name)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "tags") is { } tags)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(tags, "all_") is { } all) { var s = StrSet(all); p.Add(r => s.All(t => r.Tags.Contains(t))); }
            if (List(tags, "any_") is { } any) { var s = StrSet(any); p.Add(r => r.Tags.Any(s.Contains)); }
            if (Get(tags, "is_null_") is bool n) p.Add(r => (r.Tags.Length == 0) == n);
            top.Add(Combine(p, IsOr(tags)));
        }
        if (Obj(f, "deployment_id") is { } dep)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(dep, "any_") is { } any) { var s = GuidSet(any); p.Add(r => r.DeploymentId is Guid g && s.Contains(g)); }
            if (Get(dep, "is_null_") is bool n) p.Add(r => (r.DeploymentId is null) == n);
            top.Add(Combine(p, IsOr(dep)));
        }
        if (Obj(f, "work_queue_name") is { } wqn)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(wqn, "any_") is { } any) { var s = StrSet(any); p.Add(r => r.WorkQueueName is { } q && s.Contains(q)); }
            if (Get(wqn, "is_null_") is bool n) p.Add(r => (r.WorkQueueName is null) == n);
            top.Add(Combine(p, IsOr(wqn)));
        }
        if (Obj(f, "flow_version") is { } fv)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (List(fv, "any_") is { } any) { var s = StrSet(any); p.Add(r => r.FlowVersion is { } v && s.Contains(v)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "state") is { } state)
        {
            var p = new List<Func<RunEntity, bool>>();
            if (Obj(state, "type") is { } type && !DroppedBy319(type, v3))
            {
                if (List(type, "any_") is { } any) { var s = StrSet(any); p.Add(r => s.Contains(r.StateType)); }
                if (List(type, "not_any_") is { } nany) { var s = StrSet(nany); p.Add(r => !s.Contains(r.StateType)); }
            }
            if (Obj(state, "name") is { } sname && !DroppedBy319(sname, v3))
            {
                if (List(sname, "any_") is { } any) { var s = StrSet(any); p.Add(r => s.Contains(r.StateName)); }
                if (List(sname, "not_any_") is { } nany) { var s = StrSet(nany); p.Add(r => !s.Contains(r.StateName)); }
            }
            top.Add(Combine(p, IsOr(state)));
        }
        if (Obj(f, "start_time") is { } st) { var p = new List<Func<RunEntity, bool>>(); Times(p, st, r => r.StartTime, true); top.Add(Combine(p, false)); }
        if (Obj(f, "end_time") is { } et) { var p = new List<Func<RunEntity, bool>>(); Times(p, et, r => r.EndTime, true); top.Add(Combine(p, false)); }
        if (Obj(f, "expected_start_time") is { } est) { var p = new List<Func<RunEntity, bool>>(); Times(p, est, r => r.ExpectedStartTime, false); top.Add(Combine(p, false)); }
        if (Obj(f, "next_scheduled_start_time") is { } nst) { var p = new List<Func<RunEntity, bool>>(); Times(p, nst, r => r.NextScheduledStartTime, false); top.Add(Combine(p, false)); }

        return Combine(top, IsOr(f));
    }

    /// <summary>Prefect 3.1.9+: a state sub-filter whose SQL is not a single BinaryExpression (any_ and not_any_ together)
    /// is silently dropped (reference section 3.6).</summary>
    private static bool DroppedBy319(Dictionary<string, object?> sub, bool v3) =>
        v3 && Get(sub, "any_") is not null && Get(sub, "not_any_") is not null;

    public static Func<QueueEntity, bool> WorkQueue(Dictionary<string, object?> f)
    {
        var top = new List<Func<QueueEntity, bool>>();
        if (Obj(f, "id") is { } id)
        {
            var p = new List<Func<QueueEntity, bool>>();
            if (List(id, "any_") is { } any) { var s = GuidSet(any); p.Add(q => s.Contains(q.Id)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "name") is { } name)
        {
            var p = new List<Func<QueueEntity, bool>>();
            if (List(name, "any_") is { } any) { var s = StrSet(any); p.Add(q => s.Contains(q.Name)); }
            if (List(name, "startswith_") is { } sw)
            {
                var rxs = sw.Select(x => Like((string)x! + "%", true, true)).ToArray();
                p.Add(q => rxs.Any(rx => rx.IsMatch(q.Name)));
            }
            top.Add(Combine(p, false));
        }
        return Combine(top, IsOr(f));
    }

    public static Func<PoolEntity, bool> WorkPool(Dictionary<string, object?> f)
    {
        var top = new List<Func<PoolEntity, bool>>();
        if (Obj(f, "id") is { } id)
        {
            var p = new List<Func<PoolEntity, bool>>();
            if (List(id, "any_") is { } any) { var s = GuidSet(any); p.Add(x => s.Contains(x.Id)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "name") is { } name)
        {
            var p = new List<Func<PoolEntity, bool>>();
            if (List(name, "any_") is { } any) { var s = StrSet(any); p.Add(x => s.Contains(x.Name)); }
            top.Add(Combine(p, false));
        }
        if (Obj(f, "type") is { } type)
        {
            var p = new List<Func<PoolEntity, bool>>();
            if (List(type, "any_") is { } any) { var s = StrSet(any); p.Add(x => s.Contains(x.Type)); }
            top.Add(Combine(p, false));
        }
        return Combine(top, IsOr(f));
    }

    /// <summary>FlowRunSort as SQL would order it (NULLs sort first ascending and last descending, as in SQLite);
    /// ties are broken by id descending so results are deterministic.</summary>
    public static IEnumerable<RunEntity> Sort(IEnumerable<RunEntity> runs, string sort)
    {
        static int CmpNullable(DateTimeOffset? a, DateTimeOffset? b) =>
            a is null ? (b is null ? 0 : -1) : b is null ? 1 : a.Value.CompareTo(b.Value);
        Comparison<RunEntity> primary = sort switch
        {
            "START_TIME_ASC" => (x, y) => CmpNullable(x.StartTime ?? x.ExpectedStartTime, y.StartTime ?? y.ExpectedStartTime),
            "START_TIME_DESC" => (x, y) => -CmpNullable(x.StartTime ?? x.ExpectedStartTime, y.StartTime ?? y.ExpectedStartTime),
            "EXPECTED_START_TIME_ASC" => (x, y) => CmpNullable(x.ExpectedStartTime, y.ExpectedStartTime),
            "EXPECTED_START_TIME_DESC" => (x, y) => -CmpNullable(x.ExpectedStartTime, y.ExpectedStartTime),
            "NAME_ASC" => (x, y) => string.CompareOrdinal(x.Name, y.Name),
            "NAME_DESC" => (x, y) => -string.CompareOrdinal(x.Name, y.Name),
            "NEXT_SCHEDULED_START_TIME_ASC" => (x, y) => CmpNullable(x.NextScheduledStartTime, y.NextScheduledStartTime),
            "END_TIME_DESC" => (x, y) => -CmpNullable(x.EndTime, y.EndTime),
            _ => (_, _) => 0,
        };
        var list = runs.ToList();
        list.Sort((x, y) =>
        {
            var c = primary(x, y);
            return c != 0 ? c : -string.CompareOrdinal(x.IdText, y.IdText);
        });
        return list;
    }
}
