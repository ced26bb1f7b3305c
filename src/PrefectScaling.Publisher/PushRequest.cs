using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher
{
    /// <summary>What a push request says: the Late event the automation sent (or the module's test event).</summary>
    internal sealed class PushNotice
    {
        public PushNotice(string eventName, string eventId, DateTime occurred, string? pool, string? queue, string? flowRun)
        {
            EventName = eventName;
            EventId = eventId;
            Occurred = occurred;
            Pool = pool;
            Queue = queue;
            FlowRun = flowRun;
        }

        public string EventName { get; }
        public string EventId { get; }
        public DateTime Occurred { get; }
        public string? Pool { get; }
        public string? Queue { get; }
        public string? FlowRun { get; }
        public bool IsTest => EventName == PushPath.TestEvent;

        /// <summary>Whether the binding serves the run's pool and queue, by the exact names its scope gives.</summary>
        public bool Concerns(ServiceBinding binding)
        {
            BindingScope scope = binding.Scope;
            if (Pool != null && scope.Pools.Any(p => p.Pool == Pool && (p.IsWholePool || (Queue != null && p.Queues.Contains(Queue))))) return true;
            return Queue != null && scope.AnyPoolQueues.Contains(Queue);
        }
    }

    /// <summary>A function URL request (payload format 2.0), checked in the order that costs least: its method, its
    /// size, its secret (compared in constant time), then its body. Nothing here prints the secret or the token.</summary>
    internal static class PushRequest
    {
        /// <summary>The largest body read: the automation's payload is a few hundred bytes.</summary>
        public const int MaxBodyBytes = 8 * 1024;

        /// <summary>An event older than this is not acted on (a replay, or one held up somewhere).</summary>
        public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);

        /// <summary>An event stamped further ahead than this is not believed (clocks differ by far less).</summary>
        public static readonly TimeSpan MaxAhead = TimeSpan.FromMinutes(2);

        public static string? Method(JsonObject request) => (string?)(request["requestContext"]?["http"]?["method"] as JsonValue);

        public static string? Header(JsonObject request, string name)
        {
            if (!(request["headers"] is JsonObject headers)) return null;
            foreach (KeyValuePair<string, JsonNode?> header in headers)
                if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase)) return header.Value is JsonValue v && v.TryGetValue(out string? text) ? text : null;
            return null;
        }

        /// <summary>The body's bytes, or null when it is larger than <see cref="MaxBodyBytes"/> or not valid base64.</summary>
        public static byte[]? Body(JsonObject request, out bool tooLarge)
        {
            tooLarge = false;
            string text = request["body"] is JsonValue b && b.TryGetValue(out string? s) ? s ?? string.Empty : string.Empty;
            bool base64 = request["isBase64Encoded"] is JsonValue e && e.TryGetValue(out bool encoded) && encoded;
            // Checked on the text first, so that a huge body is never decoded.
            if (text.Length > (base64 ? (MaxBodyBytes + 2) / 3 * 4 : MaxBodyBytes * 4)) { tooLarge = true; return null; }
            byte[] bytes;
            try
            {
                bytes = base64 ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
            }
            catch (FormatException)
            {
                return null;
            }
            if (bytes.Length > MaxBodyBytes) { tooLarge = true; return null; }
            return bytes;
        }

        /// <summary>Constant time whatever the token: both sides hashed to the same length before comparing.</summary>
        public static bool Authentic(string? token, byte[] secretHash)
        {
            byte[] offered = Hash(token ?? string.Empty);
            bool same = CryptographicOperations.FixedTimeEquals(offered, secretHash);
            return same && !string.IsNullOrEmpty(token);
        }

        public static byte[] Hash(string text)
        {
            using var sha = SHA256.Create();
            return sha.ComputeHash(Encoding.UTF8.GetBytes(text));
        }

        /// <summary>The notice in the body, or null with why (not JSON, a field missing, an event that is not Late).</summary>
        public static PushNotice? Read(byte[] body, out string why)
        {
            JsonObject? root;
            try
            {
                root = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                root = null;
            }
            why = "the body is not a JSON object";
            if (root == null) return null;
            string? Text(string name) => root[name] is JsonValue v && v.TryGetValue(out string? t) && !string.IsNullOrEmpty(t) ? t : null;

            string? eventName = Text("event"), eventId = Text("event_id"), occurred = Text("occurred");
            if (eventName == null || eventId == null || occurred == null) { why = "the body lacks event, event_id or occurred"; return null; }
            if (eventName != "prefect.flow-run.Late" && eventName != PushPath.TestEvent) { why = "the event is " + Printable(eventName) + ", not prefect.flow-run.Late"; return null; }
            if (eventId.Length > 100) { why = "the event id is too long"; return null; }
            if (!DateTime.TryParse(occurred, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime at)) { why = "occurred is not a time"; return null; }
            why = string.Empty;
            return new PushNotice(eventName, eventId, at, Text("work_pool"), Text("work_queue"), Text("flow_run"));
        }

        /// <summary>A value from the request fit for a log line: short, and only printable characters.</summary>
        public static string Printable(string text)
        {
            string cut = text.Length > 80 ? text.Substring(0, 80) + "…" : text;
            return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        }
    }

    /// <summary>What keeps a burst of push requests cheap in one execution environment: each event id acts once (for
    /// an hour, as Prefect keeps its own action ids), and a binding runs at most one push cycle at a time and none
    /// within <see cref="DebounceSeconds"/> of the last one's start.</summary>
    internal sealed class PushGuard
    {
        public const int DebounceSeconds = 5;
        private const int MaxRemembered = 4096;
        private static readonly TimeSpan Remember = TimeSpan.FromHours(1);

        private readonly object _lock = new object();
        private readonly Dictionary<string, DateTime> _seen = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        private readonly Queue<(string Id, DateTime At)> _order = new Queue<(string, DateTime)>();
        private readonly Dictionary<string, DateTime> _lastStart = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        private readonly HashSet<string> _running = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>False when the event id was seen (a replay); remembers it otherwise.</summary>
        public bool FirstTime(string eventId, DateTime now)
        {
            lock (_lock)
            {
                while (_order.Count > 0 && (_order.Count >= MaxRemembered || now - _order.Peek().At > Remember))
                {
                    (string id, DateTime at) = _order.Dequeue();
                    if (_seen.TryGetValue(id, out DateTime stored) && stored == at) _seen.Remove(id);
                }
                if (_seen.ContainsKey(eventId)) return false;
                _seen[eventId] = now;
                _order.Enqueue((eventId, now));
                return true;
            }
        }

        /// <summary>The bindings that may start a push cycle now (marked running); the others run one already, or ran
        /// one moments ago.</summary>
        public IReadOnlyList<string> Begin(IEnumerable<string> bindings, DateTime now)
        {
            lock (_lock)
            {
                var begun = new List<string>();
                foreach (string binding in bindings)
                {
                    if (_running.Contains(binding)) continue;
                    if (_lastStart.TryGetValue(binding, out DateTime last) && (now - last).TotalSeconds < DebounceSeconds) continue;
                    _running.Add(binding);
                    _lastStart[binding] = now;
                    begun.Add(binding);
                }
                return begun;
            }
        }

        public void End(IEnumerable<string> bindings)
        {
            lock (_lock)
            {
                foreach (string binding in bindings) _running.Remove(binding);
            }
        }
    }
}
