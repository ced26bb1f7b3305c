using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws
{
    /// <summary>The one call surface to AWS for one region and one set of credentials: the resolved settings, the
    /// endpoints decided from them (<see cref="AwsEndpoints"/>), the clients built lazily on those, and failures
    /// turned into AwsApiException (<see cref="AwsErrorTranslator"/>). Nothing here exposes an AWSSDK type: callers
    /// speak JSON (System.Text.Json.Nodes) and plain values.</summary>
    public sealed partial class AwsContext : IDisposable
    {
        private const string SsmName = AwsEndpoints.SsmName;
        private const string StsName = AwsEndpoints.StsName;

        private readonly ResolvedAwsSettings _settings;
        private readonly AwsEndpoints _endpoints;
        private readonly AwsErrorTranslator _errors;
        private readonly object _gate = new object();
        private readonly Dictionary<string, SdkServiceClient> _clients = new Dictionary<string, SdkServiceClient>(StringComparer.Ordinal);
        private AmazonSimpleSystemsManagementClient? _ssm;
        private AmazonSecurityTokenServiceClient? _sts;
        private Task<string>? _accountId;
        private int _sourcesLogged;
        private bool _disposed;

        private AwsContext(ResolvedAwsSettings settings, AwsEndpoints endpoints, List<string> sources)
        {
            _settings = settings;
            _endpoints = endpoints;
            Sources = sources;
            _errors = new AwsErrorTranslator(settings.Secrets, sources);
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
            AwsEndpoints endpoints = AwsEndpoints.Describe(settings.Region, environment, input.EndpointUrl, sources);
            return new AwsContext(settings, endpoints, sources);
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
                throw _errors.Translate(exception, operation.Service.Name, operation.Name, client.Config.ServiceURL ?? _endpoints.UrlOf(operation.Service.Name));
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

        // ---- clients ----

        private SdkServiceClient ClientFor(AwsService service, IEngineLog log)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                LogSources(log);
                if (_clients.TryGetValue(service.Name, out SdkServiceClient? existing)) return existing;
                SdkEndpoint endpoint = _endpoints.Use(service.Name, log);
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
                return _ssm ??= SdkTypedClients.Ssm(_settings.Credentials, _endpoints.Use(SsmName, log));
            }
        }

        private AmazonSecurityTokenServiceClient Sts(IEngineLog log)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                LogSources(log);
                return _sts ??= SdkTypedClients.Sts(_settings.Credentials, _endpoints.Use(StsName, log));
            }
        }

        private void LogSources(IEngineLog log)
        {
            if (Interlocked.Exchange(ref _sourcesLogged, 1) == 0)
                foreach (string source in Sources) log.Debug("AWS " + source);
        }

        /// <summary>For tests: where a service's calls go (service names as in AwsService.Name, or SSM/STS).</summary>
        internal (string Url, string SigningRegion, string Source) EndpointFor(string serviceName)
        {
            (SdkEndpoint endpoint, string source) = _endpoints.For(serviceName);
            return (endpoint.Url, endpoint.SigningRegion, source);
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(AwsContext));
        }

        // ---- typed clients' calls ----

        private async Task<T> Typed<T>(string service, string operation, Func<Task<T>> call, CancellationToken cancellationToken, IReadOnlyList<string>? secrets = null)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception exception) when (!(exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw _errors.Translate(exception, service, operation, _endpoints.UrlOf(service), secrets);
            }
        }
    }
}
