using System;
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Prefect
{
    /// <summary>One connection to one Prefect API: a shared HttpClient, the Authorization header, retries
    /// for 429/502/503 and dropped connections inside an overall deadline, and the server's version.</summary>
    public sealed class PrefectClient : IDisposable
    {
        // What the official client sends; the server does not require it but checks its format.
        private const string ApiSchemaVersion = "0.8.4";
        private static readonly string UserAgent = "PrefectScaling/" +
            (typeof(PrefectClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

        private readonly HttpClient _http;
        private readonly PrefectHttpOptions _options;
        private readonly SemaphoreSlim _versionLock = new SemaphoreSlim(1, 1);
        private PrefectServerVersion? _version;
        private int _requestCount;

        public PrefectClient(PrefectConnectionSettings settings, PrefectHttpOptions? options = null, HttpMessageHandler? handler = null)
        {
            Settings = settings;
            _options = (options ?? new PrefectHttpOptions()).Validate();
            // Certificate validation is left as the platform does it: never switched off.
            _http = handler == null
                ? new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate })
                : new HttpClient(handler, disposeHandler: false);
            _http.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own timeout below
            _http.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
            _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            _http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", ApiSchemaVersion);
        }

        public PrefectConnectionSettings Settings { get; }

        /// <summary>The API URL as it may be printed.</summary>
        public string ApiUrl => PrefectConnectionSettings.Printable(Settings.ApiUrl);

        /// <summary>HTTP requests sent so far, retries included.</summary>
        public int RequestCount => Volatile.Read(ref _requestCount);

        /// <summary>The server's version, asked once per connection (GET /admin/version); Cloud is not asked.</summary>
        public async Task<PrefectServerVersion> GetServerVersionAsync(IEngineLog log, CancellationToken cancellationToken)
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
                        JsonElement answer = await SendAsync(HttpMethod.Get, "/admin/version", null, log, cancellationToken).ConfigureAwait(false);
                        _version = answer.ValueKind == JsonValueKind.String ? PrefectServerVersion.Parse(answer.GetString()!) : PrefectServerVersion.Unknown;
                    }
                    catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound)
                    {
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
            SendAsync(HttpMethod.Get, path, null, log, cancellationToken);

        public Task<JsonElement> PostAsync(string path, JsonObject body, IEngineLog log, CancellationToken cancellationToken) =>
            SendAsync(HttpMethod.Post, path, body, log, cancellationToken);

        private async Task<JsonElement> SendAsync(HttpMethod method, string path, JsonObject? body, IEngineLog log, CancellationToken cancellationToken)
        {
            byte[]? payload = body == null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
            var clock = Stopwatch.StartNew();
            for (int attempt = 1; ; attempt++)
            {
                TimeSpan remaining = _options.Deadline - clock.Elapsed;
                PrefectApiException failure;
                TimeSpan? retryAfter = null;
                using (var attemptCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    attemptCancellation.CancelAfter(remaining < _options.RequestTimeout ? remaining : _options.RequestTimeout);
                    using var request = new HttpRequestMessage(method, Settings.ApiUrl.AbsoluteUri + path);
                    string? authorization = Settings.AuthorizationHeaderValue;
                    if (authorization != null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
                    if (payload != null)
                    {
                        // ByteArrayContent always sends Content-Length; Prefect Cloud answers 411 without it.
                        request.Content = new ByteArrayContent(payload);
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    }

                    Interlocked.Increment(ref _requestCount);
                    log.Verbose(method.Method + " " + ApiUrl + path + (attempt > 1 ? " (attempt " + attempt + ")" : string.Empty));
                    try
                    {
                        using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, attemptCancellation.Token).ConfigureAwait(false);
                        string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                        int status = (int)response.StatusCode;
                        if (status >= 200 && status < 300) return Parse(text, path);
                        failure = PrefectErrors.FromResponse(status, text, method.Method, path, ApiUrl, Settings);
                        if (status == 429 || status == 502 || status == 503)
                            retryAfter = RetryTiming.ParseRetryAfter(response.Headers.RetryAfter, null, DateTimeOffset.UtcNow);
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
                            "The Prefect API at " + ApiUrl + " did not answer " + method.Method + " " + path + " within " + Seconds(remaining < _options.RequestTimeout ? remaining : _options.RequestTimeout) + ".",
                            endpoint: path, inner: e);
                    }
                    catch (HttpRequestException e)
                    {
                        failure = new PrefectApiException(PrefectErrorKind.ConnectionFailed,
                            "Could not reach the Prefect API at " + ApiUrl + " (" + method.Method + " " + path + "): " + InnermostMessage(e),
                            endpoint: path, inner: e);
                    }
                }

                TimeSpan wait = retryAfter is TimeSpan serverWait
                    ? RetryTiming.NoSoonerThan(serverWait)
                    : RetryTiming.Backoff(attempt, _options.BaseBackoff, _options.MaxBackoff);
                TimeSpan left = _options.Deadline - clock.Elapsed;
                if (attempt >= _options.MaxAttempts || wait >= left)
                {
                    string why = attempt >= _options.MaxAttempts
                        ? " Gave up after " + attempt + " attempts."
                        : " Gave up: the next attempt (in " + Seconds(wait) + ") would pass the " + Seconds(_options.Deadline) + " deadline.";
                    throw new PrefectApiException(failure.Kind, failure.Message + why, failure.StatusCode, failure.Endpoint, failure.InnerException);
                }
                log.Verbose(failure.Message + " Retrying in " + Seconds(wait) + ".");
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }

        private static JsonElement Parse(string text, string path)
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(text);
                return document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with something that is not JSON.", endpoint: path, inner: e);
            }
        }

        private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s";

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
