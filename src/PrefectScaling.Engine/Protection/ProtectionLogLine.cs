using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace PrefectScaling.Protection
{
    /// <summary>What the publisher's log line says of task protection, read back by Get-PrefectBacklogPublisher: the
    /// fields the function writes (protectedTasks, releasedTasks, unprotectedRuns, and unprotected: each run left
    /// unprotected with its binding and why). One definition of the names, for the writer and the reader.</summary>
    public static class ProtectionLogLine
    {
        public const string ProtectedTasks = "protectedTasks";
        public const string ReleasedTasks = "releasedTasks";
        public const string UnprotectedRuns = "unprotectedRuns";
        public const string Unprotected = "unprotected";
        public const string Binding = "binding";
        public const string Run = "run";
        public const string Why = "why";

        /// <summary>The unprotected runs a log line names (binding, run id or null for a binding's failure, why); null
        /// when the line is not a publisher's report of protection.</summary>
        public static IReadOnlyList<(string Binding, string? Run, string Why)>? Read(string line)
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(UnprotectedRuns, out _) ||
                    !root.TryGetProperty(Unprotected, out JsonElement list) || list.ValueKind != JsonValueKind.Array) return null;
                return list.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).Select(e => (
                    Text(e, Binding) ?? string.Empty, Text(e, Run), Text(e, Why) ?? string.Empty)).ToList();
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
