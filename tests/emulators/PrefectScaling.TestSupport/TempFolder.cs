using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace PrefectScaling.Aws.Tests;

internal sealed class RecordingLog : IEngineLog
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public void Verbose(string message) => Lines.Enqueue("VERBOSE " + message);
    public void Debug(string message) => Lines.Enqueue("DEBUG " + message);
    public string All => string.Join("\n", Lines);
}

internal static class Env
{
    /// <summary>A fake environment: only the given variables exist.</summary>
    public static Func<string, string?> Of(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.TryGetValue(name, out string? value) ? value : null;
    }

    public static readonly Func<string, string?> Empty = _ => null;
}

internal static class Json
{
    public static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();
}

/// <summary>A temporary folder, deleted at the end.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "psaws-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string relative, string content)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
