namespace PrefectScaling.TestSupport;

/// <summary>Fake environments for the engine's settings resolvers, which take the environment as a lookup.</summary>
public static class Env
{
    /// <summary>A fake environment: only the given variables exist.</summary>
    public static Func<string, string?> Of(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.TryGetValue(name, out string? value) ? value : null;
    }

    public static readonly Func<string, string?> Empty = _ => null;
}
