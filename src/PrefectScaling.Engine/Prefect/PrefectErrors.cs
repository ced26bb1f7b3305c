using System;
using System.Text.Json;

namespace PrefectScaling.Prefect
{
    /// <summary>Turns a Prefect error answer into a PrefectApiException whose message says what happened and
    /// what to do. The server's own words are read only from detail / exception_message (the two fields a
    /// self-hosted server's error bodies carry; Cloud bodies are opaque) and
    /// are shortened and scrubbed of the connection's secret.</summary>
    internal static class PrefectErrors
    {
        private const int MaxServerTextLength = 300;

        internal static PrefectApiException FromResponse(int status, string body, string method, string path, string apiUrl, PrefectConnectionSettings settings)
        {
            string said = ServerText(body, settings);
            string call = method + " " + path;
            string suffix = said.Length == 0 ? string.Empty : " The server said: " + said;
            switch (status)
            {
                case 401:
                case 403:
                    return new PrefectApiException(PrefectErrorKind.Unauthorized,
                        "The Prefect API at " + apiUrl + " refused the credentials (HTTP " + status + ") for " + call + ". " + AuthHint(settings) + suffix,
                        status, path);
                case 404:
                    return new PrefectApiException(PrefectErrorKind.NotFound,
                        "The Prefect API at " + apiUrl + " answered 404 for " + call + "." + suffix, status, path);
                case 422:
                case 400:
                case 411:
                case 413:
                    return new PrefectApiException(PrefectErrorKind.InvalidRequest,
                        "The Prefect API at " + apiUrl + " rejected " + call + " (HTTP " + status + "); this server may not accept what this module sends." + suffix,
                        status, path);
                case 429:
                    return new PrefectApiException(PrefectErrorKind.RateLimited,
                        "The Prefect API at " + apiUrl + " is rate limiting requests (HTTP 429) for " + call + "." + suffix, status, path);
                case 502:
                case 503:
                case 504:
                    return new PrefectApiException(PrefectErrorKind.Unavailable,
                        "The Prefect API at " + apiUrl + " is unavailable (HTTP " + status + ") for " + call + "." + suffix, status, path);
                default:
                    return new PrefectApiException(status >= 500 ? PrefectErrorKind.ServerError : PrefectErrorKind.UnexpectedResponse,
                        "The Prefect API at " + apiUrl + " failed " + call + " with HTTP " + status + "." + suffix, status, path);
            }
        }

        private static string AuthHint(PrefectConnectionSettings settings) => settings.AuthKind switch
        {
            PrefectAuthKind.None => "No credentials were sent: pass -PrefectApiKey (Prefect Cloud) or -PrefectCredential (self-hosted basic auth), or set PREFECT_API_KEY / PREFECT_API_AUTH_STRING.",
            PrefectAuthKind.BearerApiKey => "Check the API key (-PrefectApiKey or PREFECT_API_KEY) and that it may read this workspace.",
            _ => "Check the basic-auth credential (-PrefectCredential or PREFECT_API_AUTH_STRING).",
        };

        private static string ServerText(string body, PrefectConnectionSettings settings)
        {
            string text = string.Empty;
            try
            {
                using JsonDocument document = JsonDocument.Parse(body);
                JsonElement root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    if (root.TryGetProperty("detail", out JsonElement detail))
                        text = detail.ValueKind == JsonValueKind.String ? detail.GetString()! : ValidationSummary(detail);
                    else if (root.TryGetProperty("exception_message", out JsonElement message) && message.ValueKind == JsonValueKind.String)
                    {
                        text = message.GetString()!;
                        if (root.TryGetProperty("exception_detail", out JsonElement details)) text += " " + ValidationSummary(details);
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's HTML page, say): the status code says enough.
            }
            text = settings.Redact(text.Trim());
            return text.Length > MaxServerTextLength ? text.Substring(0, MaxServerTextLength) + "…" : text;
        }

        /// <summary>"body.flow_runs.bogus_key: Extra inputs are not permitted" for each validation item.</summary>
        private static string ValidationSummary(JsonElement items)
        {
            if (items.ValueKind != JsonValueKind.Array) return string.Empty;
            var parts = new System.Collections.Generic.List<string>();
            foreach (JsonElement item in items.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) continue;
                string location = string.Empty;
                if (item.TryGetProperty("loc", out JsonElement loc) && loc.ValueKind == JsonValueKind.Array)
                {
                    var names = new System.Collections.Generic.List<string>();
                    foreach (JsonElement part in loc.EnumerateArray()) names.Add(part.ToString());
                    location = string.Join(".", names) + ": ";
                }
                string message = item.TryGetProperty("msg", out JsonElement msg) ? msg.ToString() : string.Empty;
                parts.Add(location + message);
            }
            return string.Join("; ", parts);
        }
    }
}
