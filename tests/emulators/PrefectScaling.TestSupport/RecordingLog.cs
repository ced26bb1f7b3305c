using System.Collections.Concurrent;

namespace PrefectScaling.TestSupport;

/// <summary>Collects what the engine logs, so tests can check it (for secrets, say).</summary>
public sealed class RecordingLog : IEngineLog
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public void Verbose(string message) => Lines.Enqueue("VERBOSE " + message);
    public void Debug(string message) => Lines.Enqueue("DEBUG " + message);
    public string All => string.Join("\n", Lines);
}
