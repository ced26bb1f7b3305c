using System;
using System.Linq;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using PrefectScaling.Aws.Protocol;
using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws
{
    /// <summary>Resolved AWS settings (credentials, region, endpoints) and the clients built from them, lazily.
    /// Nothing here exposes an AWSSDK type: callers speak JSON (System.Text.Json.Nodes) and plain values.</summary>
    public sealed class AwsContext : IDisposable
    {
        private const string SsmName = "SSM";
        private const string StsName = "STS";

        private readonly ResolvedAwsSettings _settings;
        private readonly Func<string, string?> _environment;
        private readonly string? _endpointUrl;
        private readonly object _gate = new object();
        private readonly Dictionary<string, SdkServiceClient> _clients = new Dictionary<string, SdkServiceClient>(StringComparer.Ordinal);
        private readonly Dictionary<string, (SdkEndpoint Endpoint, string Source)> _endpoints = new Dictionary<string, (SdkEndpoint, string)>(StringComparer.Ordinal);
        private AmazonSimpleSystemsManagementClient? _ssm;
        private AmazonSecurityTokenServiceClient? _sts;
        private Task<string>? _accountId;
        private int _sourcesLogged;
        private bool _disposed;

        private AwsContext(ResolvedAwsSettings settings, Func<string, string?> environment, string? endpointUrl, List<string> sources)
        {
            _settings = settings;
            _environment = environment;
            _endpointUrl = endpointUrl;
            Sources = sources;
        }

        /// <summary>Resolves credentials and region (no network call unless only instance metadata can tell
        /// the region). Throws AwsApiException (Kind InvalidSettings) saying what to do when they can't be
        /// resolved. <paramref name="environment"/> looks up environment variables (cmdlets pass
        /// Environment.GetEnvironmentVariable); <paramref name="homeDirectory"/> holds .aws/credentials.</summary>
        public static AwsContext Create(AwsSettingsInput input, Func<string, string?> environment, string? homeDirectory) =>
            Create(input, environment, homeDirectory, null);

        internal static AwsContext Create(AwsSettingsInput input, Func<string, string?> environment, string? homeDirectory, Func<string?>? instanceMetadataRegion)
        {
            if (input == null) throw new ArgumentNullException(nameof(input));
            if (environment == null) throw new ArgumentNullException(nameof(environment));
            ResolvedAwsSettings settings = AwsSettingsResolver.Resolve(input, environment, homeDirectory, instanceMetadataRegion);
            var sources = new List<string>(settings.Sources);
            string? endpointUrl = string.IsNullOrWhiteSpace(input.EndpointUrl) ? null : ValidateUrl(input.EndpointUrl!.Trim(), "-EndpointUrl");
            var context = new AwsContext(settings, environment, endpointUrl, sources);
            context.DescribeEndpoints(sources);
            return context;
        }

        /// <summary>The region's system name, e.g. eu-west-1.</summary>
        public string Region => _settings.Region;

        /// <summary>Where credentials, region and any endpoint override came from; never a secret.</summary>
        public IReadOnlyList<string> Sources { get; }

        /// <summary>Calls one operation. <paramref name="input"/> is shaped like the operation's request in the
        /// AWS API reference; the answer likewise (an empty object when AWS answers nothing).</summary>
        public async Task<JsonNode?> InvokeAsync(AwsOperation operation, JsonObject input, IEngineLog log, CancellationToken cancellationToken)
        {
            if (operation == null) throw new ArgumentNullException(nameof(operation));
            if (input == null) throw new ArgumentNullException(nameof(input));
            log ??= NullEngineLog.Instance;
            SdkServiceClient client = ClientFor(operation.Service, log);
            log.Verbose(operation.Service.Name + " " + operation.Name + " in " + Region);
            try
            {
                (JsonNode body, string? requestId) = await client.SendAsync(operation, input, cancellationToken).ConfigureAwait(false);
                if (requestId != null) log.Debug(operation.Service.Name + " " + operation.Name + " request id " + requestId);
                return body;
            }
            catch (Exception exception) when (!(exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw Translate(exception, operation.Service.Name, operation.Name, client.Config.ServiceURL ?? EndpointOf(operation.Service.Name));
            }
        }

        /// <summary>The account id of the credentials in use (STS GetCallerIdentity), asked once.</summary>
        public Task<string> GetAccountIdAsync(IEngineLog log, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_accountId == null || _accountId.IsFaulted || _accountId.IsCanceled)
                    _accountId = FetchAccountIdAsync(log ?? NullEngineLog.Instance, cancellationToken);
                return _accountId;
            }
        }

        private async Task<string> FetchAccountIdAsync(IEngineLog log, CancellationToken cancellationToken)
        {
            AmazonSecurityTokenServiceClient sts = Sts(log);
            log.Verbose("STS GetCallerIdentity in " + Region);
            GetCallerIdentityResponse response = await Typed(StsName, "GetCallerIdentity",
                () => sts.GetCallerIdentityAsync(new GetCallerIdentityRequest(), cancellationToken), cancellationToken).ConfigureAwait(false);
            return response.Account;
        }

        /// <summary>SSM GetParameter; null when the parameter does not exist.</summary>
        public async Task<SsmParameterInfo?> GetParameterAsync(string name, bool withDecryption, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter name is required.", nameof(name));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            log.Verbose("SSM GetParameter " + name + " in " + Region);
            try
            {
                GetParameterResponse response = await Typed(SsmName, "GetParameter",
                    () => ssm.GetParameterAsync(new GetParameterRequest { Name = name, WithDecryption = withDecryption }, cancellationToken), cancellationToken).ConfigureAwait(false);
                Parameter p = response.Parameter;
                return new SsmParameterInfo
                {
                    Name = p.Name,
                    Type = p.Type?.Value ?? string.Empty,
                    Value = p.Value,
                    Version = p.Version ?? 0,
                    LastModified = p.LastModifiedDate,
                    Arn = p.ARN,
                };
            }
            catch (AwsApiException exception) when (exception.ErrorCode == "ParameterNotFound")
            {
                return null;
            }
        }

        /// <summary>SSM PutParameter as a SecureString, replacing any value. Tags are set only when the
        /// parameter is created (AWS refuses tags together with Overwrite).</summary>
        public async Task PutSecureStringParameterAsync(string name, string value, string? description, IReadOnlyDictionary<string, string>? tags, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter name is required.", nameof(name));
            if (value == null) throw new ArgumentNullException(nameof(value));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            var secrets = new List<string>(_settings.Secrets) { value };
            log.Verbose("SSM PutParameter " + name + " (SecureString) in " + Region);
            if (tags != null && tags.Count > 0)
            {
                var create = new PutParameterRequest { Name = name, Value = value, Type = ParameterType.SecureString, Overwrite = false, Description = description, Tags = new List<Amazon.SimpleSystemsManagement.Model.Tag>() };
                foreach (KeyValuePair<string, string> tag in tags) create.Tags.Add(new Amazon.SimpleSystemsManagement.Model.Tag { Key = tag.Key, Value = tag.Value });
                try
                {
                    await Typed(SsmName, "PutParameter", () => ssm.PutParameterAsync(create, cancellationToken), cancellationToken, secrets).ConfigureAwait(false);
                    return;
                }
                catch (AwsApiException exception) when (exception.ErrorCode == "ParameterAlreadyExists")
                {
                    log.Debug("SSM parameter " + name + " exists: replacing its value, leaving its tags as they are");
                }
            }
            var put = new PutParameterRequest { Name = name, Value = value, Type = ParameterType.SecureString, Overwrite = true, Description = description };
            await Typed(SsmName, "PutParameter", () => ssm.PutParameterAsync(put, cancellationToken), cancellationToken, secrets).ConfigureAwait(false);
        }

        /// <summary>SSM DeleteParameter; false when there was no such parameter.</summary>
        public async Task<bool> DeleteParameterAsync(string name, IEngineLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A parameter name is required.", nameof(name));
            log ??= NullEngineLog.Instance;
            AmazonSimpleSystemsManagementClient ssm = Ssm(log);
            log.Verbose("SSM DeleteParameter " + name + " in " + Region);
            try
            {
                await Typed(SsmName, "DeleteParameter", () => ssm.DeleteParameterAsync(new DeleteParameterRequest { Name = name }, cancellationToken), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (AwsApiException exception) when (exception.ErrorCode == "ParameterNotFound")
            {
                return false;
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                foreach (SdkServiceClient client in _clients.Values) client.Dispose();
                _clients.Clear();
                _ssm?.Dispose();
                _sts?.Dispose();
            }
        }

        // ---- clients and endpoints ----

        private SdkServiceClient ClientFor(AwsService service, IEngineLog log)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                LogSources(log);
                if (_clients.TryGetValue(service.Name, out SdkServiceClient? existing)) return existing;
                SdkEndpoint endpoint = Endpoint(service.Name, log);
                var client = new SdkServiceClient(_settings.Credentials, new SdkServiceConfig(service, Region, endpoint));
                _clients[service.Name] = client;
                return client;
            }
        }

        private AmazonSimpleSystemsManagementClient Ssm(IEngineLog log)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                LogSources(log);
                return _ssm ??= SdkTypedClients.Ssm(_settings.Credentials, Region, Endpoint(SsmName, log));
            }
        }

        private AmazonSecurityTokenServiceClient Sts(IEngineLog log)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                LogSources(log);
                return _sts ??= SdkTypedClients.Sts(_settings.Credentials, Region, Endpoint(StsName, log));
            }
        }

        private void LogSources(IEngineLog log)
        {
            if (Interlocked.Exchange(ref _sourcesLogged, 1) == 0)
                foreach (string source in Sources) log.Debug("AWS " + source);
        }

        private SdkEndpoint Endpoint(string serviceName, IEngineLog log)
        {
            (SdkEndpoint endpoint, string source) = _endpoints[serviceName];
            log.Debug(serviceName + " endpoint " + endpoint.Url + " (" + source + "), signing region " + endpoint.SigningRegion);
            return endpoint;
        }

        /// <summary>For tests: where a service's calls go (service names as in AwsService.Name, or SSM/STS).</summary>
        internal (string Url, string SigningRegion, string Source) EndpointFor(string serviceName)
        {
            (SdkEndpoint endpoint, string source) = _endpoints[serviceName];
            return (endpoint.Url, endpoint.SigningRegion, source);
        }

        private string EndpointOf(string serviceName) => _endpoints.TryGetValue(serviceName, out var entry) ? entry.Endpoint.Url : serviceName;

        /// <summary>For every service: -EndpointUrl, else AWS_ENDPOINT_URL_&lt;SERVICE_ID&gt;, else
        /// AWS_ENDPOINT_URL (both skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else the regional
        /// endpoint of the region's partition (IAM: the partition's global endpoint).</summary>
        private void DescribeEndpoints(List<string> sources)
        {
            var services = AwsService.All.Select(s => (s.Name, Variable: s.EndpointVariable, Prefix: s.EndpointPrefix, Global: s.IsGlobal)).ToList();
            services.Add((SsmName, "AWS_ENDPOINT_URL_SSM", "ssm", false));
            services.Add((StsName, "AWS_ENDPOINT_URL_STS", "sts", false));
            bool ignoreEnvironment = string.Equals(_environment("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
            string? generic = ignoreEnvironment ? null : Variable("AWS_ENDPOINT_URL");
            if (_endpointUrl != null) sources.Add("endpoint: every service at " + _endpointUrl + " (-EndpointUrl)");
            bool genericUsed = false;
            foreach (var service in services)
            {
                string? specific = ignoreEnvironment || _endpointUrl != null ? null : Variable(service.Variable);
                if (_endpointUrl != null)
                    _endpoints[service.Name] = (new SdkEndpoint(_endpointUrl, Region, true), "-EndpointUrl");
                else if (specific != null)
                {
                    _endpoints[service.Name] = (new SdkEndpoint(specific, Region, true), service.Variable);
                    sources.Add("endpoint: " + service.Name + " at " + specific + " (" + service.Variable + ")");
                }
                else if (generic != null)
                {
                    _endpoints[service.Name] = (new SdkEndpoint(generic, Region, true), "AWS_ENDPOINT_URL");
                    genericUsed = true;
                }
                else
                    _endpoints[service.Name] = (DefaultEndpoint(service.Prefix, service.Global), "regional endpoint");
            }
            if (genericUsed) sources.Add("endpoint: other services at " + generic + " (AWS_ENDPOINT_URL)");
        }

        private string? Variable(string name)
        {
            string? value = _environment(name);
            return string.IsNullOrWhiteSpace(value) ? null : ValidateUrl(value!.Trim(), "environment variable " + name);
        }

        private SdkEndpoint DefaultEndpoint(string prefix, bool global)
        {
            (string partition, string suffix) = SdkPartitions.Of(Region);
            if (global)
            {
                switch (partition)
                {
                    case "aws": return new SdkEndpoint("https://" + prefix + ".amazonaws.com", "us-east-1", false);
                    case "aws-cn": return new SdkEndpoint("https://" + prefix + ".cn-north-1.amazonaws.com.cn", "cn-north-1", false);
                    case "aws-us-gov": return new SdkEndpoint("https://" + prefix + ".us-gov.amazonaws.com", "us-gov-west-1", false);
                }
            }
            return new SdkEndpoint("https://" + prefix + "." + Region + "." + suffix, Region, false);
        }

        private static string ValidateUrl(string value, string where)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw AwsApiException.InvalidSettings("The endpoint in " + where + " is not an http(s) URL. Give a URL such as http://localhost:5000, or leave it out to use AWS's regional endpoints.");
            if (!string.IsNullOrEmpty(uri.UserInfo))
                throw AwsApiException.InvalidSettings("The endpoint in " + where + " carries a user name or password; AWS endpoints take none. Remove it.");
            return uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(AwsContext));
        }

        // ---- errors ----

        private async Task<T> Typed<T>(string service, string operation, Func<Task<T>> call, CancellationToken cancellationToken, IReadOnlyList<string>? secrets = null)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception exception) when (!(exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw Translate(exception, service, operation, EndpointOf(service), secrets);
            }
        }

        private AwsApiException Translate(Exception exception, string service, string operation, string endpoint, IReadOnlyList<string>? secrets = null)
        {
            IReadOnlyList<string> known = secrets ?? _settings.Secrets;
            string Scrub(string text) => AwsSecrets.Scrub(text, known);
            switch (exception)
            {
                case AwsApiException already:
                    return already;
                case SdkServiceErrorException sdk:
                    return AwsErrors.FromService(service, operation, (int)sdk.StatusCode, sdk.Info, Scrub, exception);
                case AmazonServiceException amazon when amazon.StatusCode != 0:
                    var info = new AwsErrorInfo
                    {
                        Code = string.IsNullOrEmpty(amazon.ErrorCode) ? null : amazon.ErrorCode,
                        Message = amazon.Message,
                        RequestId = string.IsNullOrEmpty(amazon.RequestId) ? null : amazon.RequestId,
                    };
                    return AwsErrors.FromService(service, operation, (int)amazon.StatusCode, info, Scrub, exception);
            }
            if (IsNetworkFailure(exception))
                return AwsErrors.ConnectionFailed(service, operation, endpoint, exception, Scrub);
            if (exception is ArgumentException)
                return new AwsApiException(AwsErrorKind.Validation, service, operation, service + " " + operation + " was not sent: " + Scrub(exception.Message), inner: exception);
            if (exception is AmazonClientException)
                return new AwsApiException(AwsErrorKind.InvalidSettings, service, operation,
                    service + " " + operation + " failed before reaching AWS: " + Scrub(AwsErrors.Innermost(exception).Message)
                    + " Check the AWS credentials (" + CredentialSource() + ").", inner: exception);
            return new AwsApiException(AwsErrorKind.ServiceError, service, operation, service + " " + operation + " failed: " + Scrub(exception.Message), inner: exception);
        }

        private string CredentialSource()
        {
            foreach (string source in Sources)
                if (source.StartsWith("credentials: ", StringComparison.Ordinal)) return source.Substring("credentials: ".Length);
            return "none found";
        }

        private static bool IsNetworkFailure(Exception exception)
        {
            for (Exception? current = exception; current != null; current = current.InnerException)
            {
                if (current is HttpRequestException || current is SocketException || current is IOException || current is System.Net.WebException
                    || current is TaskCanceledException || current is TimeoutException)
                    return true;
            }
            return false;
        }
    }
}
