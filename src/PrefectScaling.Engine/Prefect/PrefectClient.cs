using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Prefect
{
    /// <summary>One connection to one Prefect API: a shared HttpClient, the Authorization header, retries
    /// for 429/502/503 and dropped connections inside one deadline per read, answers read with a size cap,
    /// redirects only within the same origin, and the server's version.</summary>
    public sealed class PrefectClient : IDisposable
    {
        // What the official client sends; the server does not require it but checks its format.
        private const string ApiSchemaVersion = "0.8.4";
        // An error answer is read only for its message: the rest is left unread.
        private const int MaxErrorBodyBytes = 64 * 1024;
        private static readonly string UserAgent = "PrefectScaling/" + ModuleVersion.Text;

        private readonly HttpClient _http;
        private readonly PrefectHttpOptions _options;
        private readonly SemaphoreSlim _versionLock = new SemaphoreSlim(1, 1);
        private PrefectServerVersion? _version;
        private int _requestCount;

        public PrefectClient(PrefectConnectionSettings settings, PrefectHttpOptions? options = null, HttpMessageHandler? handler = null)
        {
            Settings = settings;
            _options = (options ?? new PrefectHttpOptions()).Validate();
            // Certificate validation is left as the platform does it: never switched off. Redirects are followed
            // here, not by the handler, which would turn a POST into a GET or follow them to another host.
            _http = handler == null
                ? new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate, AllowAutoRedirect = false })
                : new HttpClient(handler, disposeHandler: false);
            _http.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own timeout below
            _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
            _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            _http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", ApiSchemaVersion);
        }

        public PrefectConnectionSettings Settings { get; }

        /// <summary>The API URL as it may be printed.</summary>
        public string ApiUrl => PrefectConnectionSettings.Printable(Settings.ApiUrl);

        /// <summary>HTTP requests sent so far, retries and followed redirects included.</summary>
        public int RequestCount => Volatile.Read(ref _requestCount);

        /// <summary>A deadline for one read on this connection: the connection's, or less when the caller has less time.</summary>
        public PrefectDeadline StartDeadline(TimeSpan? atMost = null)
        {
            TimeSpan budget = atMost is TimeSpan limit && limit < _options.Deadline ? limit : _options.Deadline;
            if (budget <= TimeSpan.Zero)
                throw new PrefectApiException(PrefectErrorKind.Timeout, "No time was left to read the Prefect API at " + ApiUrl + " before the caller's own deadline.");
            return PrefectDeadline.Start(budget);
        }

        /// <summary>The server's version, asked once per connection (GET /admin/version); Cloud is not asked.</summary>
        public Task<PrefectServerVersion> GetServerVersionAsync(IEngineLog log, CancellationToken cancellationToken) =>
            GetServerVersionAsync(StartDeadline(), log, cancellationToken);

        public async Task<PrefectServerVersion> GetServerVersionAsync(PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            if (_version != null) return _version;
            await _versionLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_version != null) return _version;
                if (Settings.IsCloud)
                {
                    _version = PrefectServerVersion.Cloud;
                }
                else
                {
                    try
                    {
                        JsonElement answer = await SendAsync(HttpMethod.Get, "/admin/version", null, deadline, log, cancellationToken).ConfigureAwait(false);
                        _version = answer.ValueKind == JsonValueKind.String ? PrefectServerVersion.Parse(answer.GetString()!) : PrefectServerVersion.Unknown;
                    }
                    catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound || e.Kind == PrefectErrorKind.UnexpectedResponse)
                    {
                        // The commonest cause is a URL without /api: say so rather than guess a version or report a missing pool.
                        string? suggestion = await SuggestApiUrlAsync(deadline, log, cancellationToken).ConfigureAwait(false);
                        if (suggestion != null)
                            throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                                "The Prefect API URL " + ApiUrl + " is not a Prefect API (GET /admin/version: " + (e.StatusCode is int s ? "HTTP " + s : "not JSON") +
                                "), but " + suggestion + " answers like one: did you mean " + suggestion + "?", e.StatusCode, "/admin/version", e);
                        if (e.Kind != PrefectErrorKind.NotFound) throw;
                        // Not a version we know: assume the oldest API rather than send keys it would ignore.
                        _version = PrefectServerVersion.Unknown;
                    }
                }
                log.Debug("Prefect server at " + ApiUrl + ": " + _version);
                return _version;
            }
            finally
            {
                _versionLock.Release();
            }
        }

        public Task<JsonElement> GetAsync(string path, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Get, path, null, StartDeadline(), log, cancellationToken);

        public Task<JsonElement> GetAsync(string path, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Get, path, null, deadline, log, cancellationToken);

        public Task<JsonElement> PostAsync(string path, JsonObject body, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Post, path, body, StartDeadline(), log, cancellationToken);

        public Task<JsonElement> PostAsync(string path, JsonObject body, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Post, path, body, deadline, log, cancellationToken);

        /// <summary>The writes of the push path's Prefect side (a Webhook block, automations): an answer without a body
        /// (204) comes back as an undefined element.</summary>
        public Task<JsonElement> PutAsync(string path, JsonObject body, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Put, path, body, StartDeadline(), log, cancellationToken, emptyAnswer: true);

        public Task<JsonElement> PatchAsync(string path, JsonObject body, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(new HttpMethod("PATCH"), path, body, StartDeadline(), log, cancellationToken, emptyAnswer: true);

        public Task<JsonElement> DeleteAsync(string path, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Delete, path, null, StartDeadline(), log, cancellationToken, emptyAnswer: true);

        private async Task<JsonElement> SendAsync(HttpMethod method, string path, JsonObject? body, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken, bool emptyAnswer = false)
        {
            byte[]? payload = body == null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
            for (int attempt = 1; ; attempt++)
            {
                TimeSpan remaining = deadline.Remaining;
                if (remaining <= TimeSpan.Zero)
                    throw new PrefectApiException(PrefectErrorKind.Timeout,
                        "The read from the Prefect API at " + ApiUrl + " ran past its " + Seconds(deadline.Budget) + " deadline before " + method.Method + " " + path + "; nothing was counted.",
                        endpoint: path);
                TimeSpan attemptLimit = remaining < _options.RequestTimeout ? remaining : _options.RequestTimeout;
                PrefectApiException failure;
                TimeSpan? retryAfter = null;
                using (var attemptCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    attemptCancellation.CancelAfter(attemptLimit);
                    try
                    {
                        Answer answer = await ExchangeAsync(method, Settings.ApiUrl, path, payload, attempt, log, attemptCancellation.Token).ConfigureAwait(false);
                        if (answer.Status >= 200 && answer.Status < 300) return emptyAnswer && answer.Body.Count == 0 ? default : Parse(answer.Body, path);
                        failure = PrefectErrors.FromResponse(answer.Status, Encoding.UTF8.GetString(answer.Body.Array!, answer.Body.Offset, answer.Body.Count), method.Method, path, ApiUrl, Settings);
                        if (answer.Status == 429 || answer.Status == 502 || answer.Status == 503)
                            retryAfter = RetryTiming.ParseRetryAfter(answer.RetryAfter, null, DateTimeOffset.UtcNow);
                        else
                            throw failure;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (OperationCanceledException e)
                    {
                        failure = new PrefectApiException(PrefectErrorKind.Timeout,
                            "The Prefect API at " + ApiUrl + " did not answer " + method.Method + " " + path + " within " + Seconds(attemptLimit) +
                            (attemptLimit < _options.RequestTimeout ? " (what was left of the read's " + Seconds(deadline.Budget) + " deadline)" : string.Empty) + ".",
                            endpoint: path, inner: e);
                    }
                    catch (HttpRequestException e)
                    {
                        failure = new PrefectApiException(PrefectErrorKind.ConnectionFailed,
                            "Could not reach the Prefect API at " + ApiUrl + " (" + method.Method + " " + path + "): " + InnermostMessage(e),
                            endpoint: path, inner: e);
                    }
                    catch (IOException e)
                    {
                        // The connection broke while the answer was being read.
                        failure = new PrefectApiException(PrefectErrorKind.ConnectionFailed,
                            "The connection to the Prefect API at " + ApiUrl + " broke while reading the answer to " + method.Method + " " + path + ": " + InnermostMessage(e),
                            endpoint: path, inner: e);
                    }
                }

                TimeSpan wait = retryAfter is TimeSpan serverWait
                    ? RetryTiming.NoSoonerThan(serverWait)
                    : RetryTiming.Backoff(attempt, _options.BaseBackoff, _options.MaxBackoff);
                if (attempt >= _options.MaxAttempts || wait >= deadline.Remaining)
                {
                    string why = attempt >= _options.MaxAttempts
                        ? " Gave up after " + attempt + " attempts."
                        : " Gave up: the next attempt (in " + Seconds(wait) + ") would pass the read's " + Seconds(deadline.Budget) + " deadline.";
                    throw new PrefectApiException(failure.Kind, failure.Message + why, failure.StatusCode, failure.Endpoint, failure.InnerException);
                }
                log.Verbose(failure.Message + " Retrying in " + Seconds(wait) + ".");
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        private readonly struct Answer
        {
            public Answer(int status, ArraySegment<byte> body, RetryConditionHeaderValue? retryAfter)
            {
                Status = status;
                Body = body;
                RetryAfter = retryAfter;
            }

            public int Status { get; }
            public ArraySegment<byte> Body { get; }
            public RetryConditionHeaderValue? RetryAfter { get; }
        }

        /// <summary>One attempt: the request, any same-origin redirects of a GET, and the answer read with its cap.</summary>
        private async Task<Answer> ExchangeAsync(HttpMethod method, Uri baseUrl, string path, byte[]? payload, int attempt, IEngineLog log, CancellationToken token)
        {
            var target = new Uri(baseUrl.AbsoluteUri + path, UriKind.Absolute);
            for (int redirects = 0; ; redirects++)
            {
                using var request = new HttpRequestMessage(method, target);
                string? authorization = Settings.AuthorizationHeaderValue;
                if (authorization != null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
                if (payload != null)
                {
                    // ByteArrayContent always sends Content-Length; Prefect Cloud answers 411 without it.
                    request.Content = new ByteArrayContent(payload);
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                }

                Interlocked.Increment(ref _requestCount);
                log.Verbose(method.Method + " " + PrefectConnectionSettings.Printable(target) + (attempt > 1 ? " (attempt " + attempt + ")" : string.Empty));
                using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (status >= 300 && status < 400 && status != 304)
                {
                    Uri? location = response.Headers.Location == null ? null
                        : response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(target, response.Headers.Location);
                    string? refusal = RedirectRefusal(method, status, target, location, redirects);
                    if (refusal != null)
                        throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse,
                            "The Prefect API at " + ApiUrl + " answered " + method.Method + " " + path + " with a redirect (HTTP " + status + ")" +
                            (location == null ? " without a usable Location" : " to " + PrintableLocation(location)) + "; " + refusal + Suggestion(location, path),
                            status, path);
                    log.Verbose("Following the same-origin redirect (HTTP " + status + ") to " + PrintableLocation(location!) + ".");
                    target = location!;
                    continue;
                }
                bool success = status >= 200 && status < 300;
                ArraySegment<byte> body = await ReadBodyAsync(response.Content, success ? PrefectHttpOptions.MaxResponseBytes : MaxErrorBodyBytes, success, method.Method + " " + path, token).ConfigureAwait(false);
                return new Answer(status, body, response.Headers.RetryAfter);
            }
        }

        /// <summary>Why a redirect is not followed, or null to follow it: only a GET, only to the same origin (a
        /// redirect elsewhere could take the Authorization header with it), only a few in a row.</summary>
        private static string? RedirectRefusal(HttpMethod method, int status, Uri from, Uri? to, int redirectsSoFar)
        {
            if (to == null) return "nothing was followed.";
            if (method != HttpMethod.Get)
                return "a redirected " + method.Method + " is not followed (it would be resent as a GET, or resent elsewhere).";
            if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
                return "HTTP " + status + " is not a redirect that can be followed.";
            if (!SameOrigin(from, to))
                return "redirects to another origin (scheme, host or port) are not followed.";
            if (redirectsSoFar >= PrefectHttpOptions.MaxRedirects)
                return "gave up after " + PrefectHttpOptions.MaxRedirects + " redirects in a row.";
            return null;
        }

        private static bool SameOrigin(Uri a, Uri b) =>
            string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

        /// <summary>Where a redirect pointed, fit to print: scheme, host, port and path; no user info or query, which can hold secrets.</summary>
        private static string PrintableLocation(Uri location)
        {
            if (location.Scheme != Uri.UriSchemeHttp && location.Scheme != Uri.UriSchemeHttps) return "a " + location.Scheme + ": address";
            string text = location.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            return text.Length > 200 ? text.Substring(0, 200) + "…" : text;
        }

        /// <summary>When the redirect points at the same route under another base (http to https, say), that base.</summary>
        private static string Suggestion(Uri? location, string path)
        {
            if (location == null || (location.Scheme != Uri.UriSchemeHttp && location.Scheme != Uri.UriSchemeHttps)) return string.Empty;
            string target = PrintableLocation(location);
            return target.EndsWith(path, StringComparison.Ordinal) && target.Length > path.Length
                ? " If that is where the API lives, use " + target.Substring(0, target.Length - path.Length) + " as the Prefect API URL."
                : string.Empty;
        }

        /// <summary>Reads an answer while counting its bytes, so that an oversized or endless answer stops at the cap
        /// instead of filling memory. A success over the cap is an error; an error answer is just cut short.</summary>
        private async Task<ArraySegment<byte>> ReadBodyAsync(HttpContent content, int cap, bool refuseOversize, string call, CancellationToken token)
        {
            long? declared = content.Headers.ContentLength;
            if (refuseOversize && declared > cap) throw TooLarge(call, declared);
            using Stream stream = await content.ReadAsStreamAsync().ConfigureAwait(false);
            var buffer = new MemoryStream(declared is long length && length <= cap ? (int)length : 0);
            byte[] chunk = new byte[81920];
            while (true)
            {
                int read = await stream.ReadAsync(chunk, 0, chunk.Length, token).ConfigureAwait(false);
                if (read == 0) break;
                if (buffer.Length + read > cap)
                {
                    if (refuseOversize) throw TooLarge(call, null);
                    buffer.Write(chunk, 0, (int)(cap - buffer.Length));
                    break;
                }
                buffer.Write(chunk, 0, read);
            }
            return new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        private PrefectApiException TooLarge(string call, long? declared) =>
            new PrefectApiException(PrefectErrorKind.TooLarge,
                "The Prefect API at " + ApiUrl + " answered " + call + " with " + (declared is long n ? n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " bytes" : "more than " + PrefectHttpOptions.MaxResponseBytes / (1024 * 1024) + " MiB") +
                ", more than this module reads (a page of 200 flow runs from a real server is about 0.4 MiB; is a proxy in the way?).",
                endpoint: call.Substring(call.IndexOf(' ') + 1));

        /// <summary>For a URL without /api: the URL with /api that answers GET /health like a Prefect server
        /// (it needs no credentials), or null. One quick attempt each, never an error of its own.</summary>
        private async Task<string?> SuggestApiUrlAsync(PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            string path = Settings.ApiUrl.AbsolutePath.TrimEnd('/');
            if (path.EndsWith("/api", StringComparison.OrdinalIgnoreCase)) return null;
            string origin = Settings.ApiUrl.GetLeftPart(UriPartial.Authority);
            foreach (string candidate in path.Length == 0 ? new[] { origin + "/api" } : new[] { Settings.ApiUrl.AbsoluteUri.TrimEnd('/') + "/api", origin + "/api" })
            {
                TimeSpan remaining = deadline.Remaining;
                if (remaining <= TimeSpan.Zero) return null;
                using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                probe.CancelAfter(remaining < _options.RequestTimeout ? remaining : _options.RequestTimeout);
                try
                {
                    Answer answer = await ExchangeAsync(HttpMethod.Get, new Uri(candidate), "/health", null, 1, log, probe.Token).ConfigureAwait(false);
                    if (answer.Status == 200 && Parse(answer.Body, "/health").ValueKind == JsonValueKind.True)
                        return PrefectConnectionSettings.Printable(new Uri(candidate));
                }
                catch (Exception e) when (e is PrefectApiException || e is HttpRequestException || e is IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // No Prefect there either.
                }
            }
            return null;
        }

        private static JsonElement Parse(ArraySegment<byte> body, string path)
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(body);
                return document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with something that is not JSON.", endpoint: path, inner: e);
            }
        }

        private static string Seconds(TimeSpan span) => PrefectDeadline.Seconds(span);

        private static string InnermostMessage(Exception e)
        {
            while (e.InnerException != null) e = e.InnerException;
            return e.Message;
        }

        public void Dispose()
        {
            _http.Dispose();
            _versionLock.Dispose();
        }
    }
}
