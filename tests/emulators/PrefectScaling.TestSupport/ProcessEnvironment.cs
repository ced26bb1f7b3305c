namespace PrefectScaling.TestSupport;

/// <summary>Sets process environment variables until disposed, then puts the previous values back. The process
/// environment is global: callers must not run two of these at once (serialize such tests).</summary>
public sealed class ProcessEnvironment : IDisposable
{
    private readonly Dictionary<string, string?> _previous = new(StringComparer.Ordinal);

    private ProcessEnvironment(IReadOnlyDictionary<string, string> variables)
    {
        foreach (var variable in variables)
        {
            if (!_previous.ContainsKey(variable.Key)) _previous[variable.Key] = Environment.GetEnvironmentVariable(variable.Key);
            Environment.SetEnvironmentVariable(variable.Key, variable.Value);
        }
    }

    public static ProcessEnvironment Set(IReadOnlyDictionary<string, string> variables) => new(variables);

    public void Dispose()
    {
        foreach (var variable in _previous) Environment.SetEnvironmentVariable(variable.Key, variable.Value);
    }
}
