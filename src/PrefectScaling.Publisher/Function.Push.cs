using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher
{
    /// <summary>What one push request got: its HTTP status, why, and what it ran (the answer's and the log line's fields).</summary>
    internal sealed class PushAnswer
    {
        public int Status { get; set; }

        /// <summary>published, test, ignored, debounced, duplicate, or rejected.</summary>
        public string Outcome { get; set; } = "rejected";
        public string Reason { get; set; } = string.Empty;
        public IReadOnlyList<string> Bindings { get; set; } = Array.Empty<string>();
        public IReadOnlyList<string> Failed { get; set; } = Array.Empty<string>();
        public int Published { get; set; }
        public int Cycles { get; set; }
        public bool Cold { get; set; }
        public double DurationMs { get; set; }
        public double? LateAgeMs { get; set; }
    }

    public sealed partial class Function
    {
        // Prefect's webhook gives up after 5 s and never retries: the push cycle's Prefect read gets at most this much.
        private static readonly TimeSpan PushPrefectBudget = TimeSpan.FromSeconds(3);

        // A wrong token re-reads the secret from SSM (it may have been rotated) at most this often, so a flood of wrong
        // tokens costs no SSM calls.
        private static readonly TimeSpan PushSecretRecheck = TimeSpan.FromSeconds(60);

        /// <summary>A function URL request: authenticated, checked, and for a fresh Late event of a bound pool or queue,
        /// one immediate cycle of the bindings it concerns (the same cycle the schedule runs, for them alone, at high
        /// resolution). Always answers (payload format 2.0), never throws: Prefect records the status.</summary>
        private async Task<byte[]> PushAsync(InvocationEvent invocation, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var answer = new PushAnswer { Cold = _ready == null };
            Func<string, string> scrub = _lastScrub ?? (text => text);
            try
            {
                await DecideAsync(invocation, answer, cancellationToken).ConfigureAwait(false);
                scrub = _ready?.Scrub ?? scrub;
            }
            catch (Exception exception)
            {
                scrub = _ready?.Scrub ?? _lastScrub ?? scrub;
                InvocationFailure failure = InvocationFailure.From(exception, scrub);
                if (failure.SecretMayBeStale) _ready = null;
                answer.Status = 503;
                answer.Outcome = "failed";
                answer.Reason = failure.Source + " " + failure.Kind + ": " + failure.Message;
            }
            answer.DurationMs = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
            WriteLog(scrub(LogLine(answer)));
            PushObserver?.Invoke(answer);
            return Response(answer);
        }

        private async Task DecideAsync(InvocationEvent invocation, PushAnswer answer, CancellationToken cancellationToken)
        {
            if (invocation.Trigger == InvocationTrigger.Oversized) { Reject(answer, 413, "the request is larger than the publisher reads"); return; }
            var request = invocation.Request!;
            if (PushRequest.Method(request) != "POST") { Reject(answer, 405, "only POST is answered"); return; }
            byte[]? body = PushRequest.Body(request, out bool tooLarge);
            if (tooLarge) { Reject(answer, 413, "the body is over " + PushRequest.MaxBodyBytes + " bytes"); return; }
            if (body == null) { Reject(answer, 400, "the body is not valid base64"); return; }

            Ready ready = await ColdStartAsync(cancellationToken).ConfigureAwait(false);
            if (ready.Configuration.PushSecretParameter == null) { Reject(answer, 404, "the push path is not installed on this publisher"); return; }
            string? token = PushRequest.Header(request, PushPath.TokenHeader);
            if (!await AuthenticAsync(ready, token, cancellationToken).ConfigureAwait(false))
            {
                Reject(answer, 401, token == null ? "no " + PushPath.TokenHeader + " header" : "the " + PushPath.TokenHeader + " header does not match the push secret");
                return;
            }

            PushNotice? notice = PushRequest.Read(body, out string why);
            if (notice == null) { Reject(answer, 400, why); return; }
            DateTime now = DateTime.UtcNow;
            answer.LateAgeMs = Math.Round((now - notice.Occurred).TotalMilliseconds, 1);
            if (now - notice.Occurred > PushRequest.MaxAge) { Reject(answer, 409, "the event occurred more than " + PushRequest.MaxAge.TotalMinutes + " minutes ago"); return; }
            if (notice.Occurred - now > PushRequest.MaxAhead) { Reject(answer, 409, "the event is stamped in the future"); return; }
            if (!_pushGuard.FirstTime(notice.EventId, now)) { answer.Status = 200; answer.Outcome = "duplicate"; answer.Reason = "the event " + PushRequest.Printable(notice.EventId) + " was acted on already"; return; }

            IReadOnlyList<ServiceBinding> bindings = await ready.Cycle.BindingsAsync(NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
            if (notice.IsTest)
            {
                answer.Status = 200;
                answer.Outcome = "test";
                answer.Reason = "authenticated; " + bindings.Count + " binding(s) would be woken by their runs";
                answer.Bindings = bindings.Select(b => b.ResourceId).ToList();
                return;
            }
            List<string> concerned = bindings.Where(notice.Concerns).Select(b => b.ResourceId).OrderBy(b => b, StringComparer.Ordinal).ToList();
            if (concerned.Count == 0)
            {
                answer.Status = 202;
                answer.Outcome = "ignored";
                answer.Reason = "no binding serves pool " + PushRequest.Printable(notice.Pool ?? "(none)") + ", queue " + PushRequest.Printable(notice.Queue ?? "(none)");
                return;
            }
            IReadOnlyList<string> begun = _pushGuard.Begin(concerned, now);
            answer.Bindings = concerned;
            if (begun.Count == 0)
            {
                answer.Status = 202;
                answer.Outcome = "debounced";
                answer.Reason = "each binding ran a push cycle within the last " + PushGuard.DebounceSeconds + " s, or runs one now";
                return;
            }
            try
            {
                PublisherCycleResult result = await ready.Cycle.RunAsync(NullEngineLog.Instance, cancellationToken, PushPrefectBudget, publish: true, onlyBindings: begun, highResolution: true).ConfigureAwait(false);
                answer.Cycles = 1;
                answer.Published = result.Published;
                answer.Bindings = begun;
                answer.Failed = result.FailedBindings.Select(b => b.Binding.ResourceId + ": " + b.Failure!.Message).ToList();
                answer.Status = answer.Failed.Count == 0 ? 200 : 502;
                answer.Outcome = "published";
                answer.Reason = begun.Count < concerned.Count ? (concerned.Count - begun.Count) + " binding(s) debounced" : string.Empty;
            }
            finally
            {
                _pushGuard.End(begun);
            }
        }

        /// <summary>The token against the push secret, in constant time. A mismatch reads the secret again (once a
        /// minute at most), in case Install rotated it since this environment started.</summary>
        private async Task<bool> AuthenticAsync(Ready ready, string? token, CancellationToken cancellationToken)
        {
            if (ready.PushSecretHash == null || (!PushRequest.Authentic(token, ready.PushSecretHash) && DateTime.UtcNow - ready.PushSecretReadAt > PushSecretRecheck))
            {
                SsmParameterInfo? parameter = await ready.Aws.GetParameterAsync(ready.Configuration.PushSecretParameter!, withDecryption: true, NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
                string secret = parameter?.Value is string value && value.Length > 0 ? value : throw new AwsApiException(AwsErrorKind.NotFound, "SSM", "GetParameter",
                    "The SSM parameter " + ready.Configuration.PushSecretParameter + " that holds the push secret does not exist; run Install-PrefectBacklogPublisher -Push again.", "ParameterNotFound");
                ready.PushSecretHash = PushRequest.Hash(secret);
                ready.PushSecretReadAt = DateTime.UtcNow;
            }
            return PushRequest.Authentic(token, ready.PushSecretHash);
        }

        private static void Reject(PushAnswer answer, int status, string reason)
        {
            answer.Status = status;
            answer.Outcome = "rejected";
            answer.Reason = reason;
        }

        /// <summary>The function URL's answer (payload format 2.0): the status, and the answer as a JSON body.</summary>
        private static byte[] Response(PushAnswer answer)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("statusCode", answer.Status);
                w.WriteStartObject("headers");
                w.WriteString("content-type", "application/json");
                w.WriteEndObject();
                w.WriteString("body", Body(answer));
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }

        private static string Body(PushAnswer answer)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                Fields(w, answer);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        /// <summary>{"level":…,"event":"push",…the answer's fields…}: no header, no token, no body.</summary>
        private static string LogLine(PushAnswer answer)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("level", answer.Status >= 500 ? "error" : answer.Outcome == "rejected" ? "warn" : "info");
                w.WriteString("event", "push");
                Fields(w, answer);
                w.WriteBoolean("cold", answer.Cold);
                w.WriteNumber("durationMs", answer.DurationMs);
                if (answer.LateAgeMs is double age) w.WriteNumber("lateAgeMs", age);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        private static void Fields(Utf8JsonWriter w, PushAnswer answer)
        {
            w.WriteNumber("status", answer.Status);
            w.WriteString("outcome", answer.Outcome);
            if (answer.Reason.Length > 0) w.WriteString("reason", answer.Reason);
            w.WriteNumber("cycles", answer.Cycles);
            w.WriteNumber("published", answer.Published);
            w.WriteStartArray("bindings");
            foreach (string binding in answer.Bindings) w.WriteStringValue(binding);
            w.WriteEndArray();
            if (answer.Failed.Count > 0)
            {
                w.WriteStartArray("failed");
                foreach (string failed in answer.Failed) w.WriteStringValue(failed);
                w.WriteEndArray();
            }
        }
    }
}
