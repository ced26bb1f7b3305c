using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials.Internal;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using Amazon.Runtime.Internal.Transform;
using Amazon.Util.Internal;
using PrefectScaling.Aws.Protocol;

// Everything in this folder touches AWSSDK.Core's *.Internal namespaces (pipeline handlers, DefaultRequest,
// unmarshaller contexts, auth scheme options). Those types change between minor versions: keep them here.
namespace PrefectScaling.Aws.Sdk
{
    /// <summary>Where one service's calls go and how they are signed, decided by AwsEndpoints.</summary>
    internal sealed class SdkEndpoint
    {
        public SdkEndpoint(string url, string signingRegion, bool isOverride)
        {
            Url = url;
            SigningRegion = signingRegion;
            IsOverride = isOverride;
        }

        public string Url { get; }
        public string SigningRegion { get; }
        public bool IsOverride { get; }
    }

    /// <summary>A ClientConfig for any service described by an AwsService. Endpoint overrides are decided by
    /// AwsEndpoints (from the environment function AwsContext was given), so the SDK's own reading of
    /// AWS_ENDPOINT_URL* and profile endpoint_url is switched off.</summary>
    internal sealed class SdkServiceConfig : ClientConfig
    {
        private static readonly IDefaultConfiguration[] Defaults =
        {
            Mode(DefaultConfigurationMode.Standard, 3100),
            Mode(DefaultConfigurationMode.InRegion, 1100),
            Mode(DefaultConfigurationMode.CrossRegion, 3100),
            Mode(DefaultConfigurationMode.Mobile, 30000),
            Mode(DefaultConfigurationMode.Auto, 1100),
        };

        private static readonly string UserAgentText = InternalSDKUtils.BuildUserAgentString("PrefectScaling", ModuleVersion.Text);

        public SdkServiceConfig(AwsService service, string region, SdkEndpoint endpoint)
            : base(new DefaultConfigurationProvider(Defaults))
        {
            Service = service;
            Endpoint = endpoint;
            base.ServiceId = service.ServiceId;
            AuthenticationServiceName = service.SigningName;
            IgnoreConfiguredEndpointUrls = true;
            RetryMode = RequestRetryMode.Standard;
            if (endpoint.IsOverride)
            {
                ServiceURL = endpoint.Url;
                AuthenticationRegion = endpoint.SigningRegion;
            }
            else
            {
                RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            }
            EndpointProvider = new SdkEndpointProvider(service, endpoint);
        }

        public AwsService Service { get; }
        public SdkEndpoint Endpoint { get; }

        public override string RegionEndpointServiceName => Service.EndpointPrefix;
        public override string ServiceVersion => Service.ApiVersion;
        public override string UserAgent => UserAgentText;

        public override Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters) =>
            EndpointProvider.ResolveEndpoint(new EndpointParameters());

        private static IDefaultConfiguration Mode(DefaultConfigurationMode mode, int connectMilliseconds) => new DefaultConfiguration
        {
            Name = mode,
            RetryMode = RequestRetryMode.Standard,
            S3UsEast1RegionalEndpoint = S3UsEast1RegionalEndpointValue.Regional,
            ConnectTimeout = TimeSpan.FromMilliseconds(connectMilliseconds),
            TlsNegotiationTimeout = TimeSpan.FromMilliseconds(connectMilliseconds),
        };
    }

    /// <summary>Always the endpoint AwsEndpoints chose, with a SigV4 auth scheme naming the service's signing
    /// name and the signing region (IAM: the partition's home region).</summary>
    internal sealed class SdkEndpointProvider : IEndpointProvider
    {
        private readonly string _url;
        private readonly string _attributes;

        public SdkEndpointProvider(AwsService service, SdkEndpoint endpoint)
        {
            _url = endpoint.Url;
            var scheme = new JsonObject
            {
                ["name"] = "sigv4",
                ["signingName"] = service.SigningName,
                ["signingRegion"] = endpoint.SigningRegion,
            };
            _attributes = new JsonObject { ["authSchemes"] = new JsonArray(scheme) }.ToJsonString();
        }

        public Endpoint ResolveEndpoint(EndpointParameters parameters) => new Endpoint(_url, _attributes, null);
    }

    internal sealed class SdkEndpointResolver : BaseEndpointResolver
    {
        protected override EndpointParameters MapEndpointsParameters(IRequestContext requestContext)
        {
            var config = (SdkServiceConfig)requestContext.ClientConfig;
            var parameters = new EndpointParameters();
            parameters["Region"] = config.Endpoint.SigningRegion;
            parameters["Endpoint"] = config.Endpoint.Url;
            return parameters;
        }
    }

    internal sealed class SdkAuthHandler : BaseAuthResolverHandler
    {
        protected override List<IAuthSchemeOption> ResolveAuthOptions(IExecutionContext executionContext) => AuthSchemeOption.DEFAULT_SIGV4;
    }

    internal sealed class SdkServiceMetadata : IServiceMetadata
    {
        public SdkServiceMetadata(string serviceId) { ServiceId = serviceId; }
        public string ServiceId { get; }
        public IDictionary<string, string> OperationNameMapping { get; } = new Dictionary<string, string>();
    }

    /// <summary>One client per service on the SDK's own pipeline: its credentials, signing, retries (Standard
    /// mode: throttling, 5xx and transient network errors), with the generic JSON marshaller.</summary>
    internal sealed class SdkServiceClient : AmazonServiceClient
    {
        public SdkServiceClient(AWSCredentials credentials, SdkServiceConfig config) : base(credentials, config) { }

        // Read from the base constructor, so derived from Config (already set there), not from a field.
        protected override IServiceMetadata ServiceMetadata => new SdkServiceMetadata(((SdkServiceConfig)Config).Service.ServiceId);

        protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
        {
            pipeline.RemoveHandler<EndpointResolver>();
            pipeline.AddHandlerAfter<Marshaller>(new SdkEndpointResolver());
            pipeline.AddHandlerAfter<Marshaller>(new SdkAuthHandler());
        }

        public async Task<(JsonNode Body, string? RequestId)> SendAsync(AwsOperation operation, JsonObject input, CancellationToken cancellationToken)
        {
            var options = new InvokeOptions
            {
                RequestMarshaller = JsonNodeMarshaller.Instance,
                ResponseUnmarshaller = new JsonNodeUnmarshaller(operation),
            };
            JsonNodeResponse response = await InvokeAsync<JsonNodeResponse>(new JsonNodeRequest(operation, input), options, cancellationToken).ConfigureAwait(false);
            return (response.Body ?? new JsonObject(), response.RequestId);
        }
    }

    internal sealed class JsonNodeRequest : AmazonWebServiceRequest
    {
        public JsonNodeRequest(AwsOperation operation, JsonObject input)
        {
            Operation = operation;
            Input = input;
        }

        public AwsOperation Operation { get; }
        public JsonObject Input { get; }
    }

    internal sealed class JsonNodeResponse : AmazonWebServiceResponse
    {
        public JsonNode? Body { get; set; }
        public string? RequestId { get; set; }
    }

    internal sealed class JsonNodeMarshaller : IMarshaller<IRequest, AmazonWebServiceRequest>
    {
        public static readonly JsonNodeMarshaller Instance = new JsonNodeMarshaller();

        public IRequest Marshall(AmazonWebServiceRequest input)
        {
            var source = (JsonNodeRequest)input;
            WireRequest wire = RequestEncoder.Encode(source.Operation, source.Input);
            var request = new DefaultRequest(source, "PrefectScaling." + source.Operation.Service.Name)
            {
                HttpMethod = wire.Method,
                ResourcePath = wire.Path,
            };
            foreach (KeyValuePair<string, string> pathValue in wire.PathValues)
                request.AddPathResource(pathValue.Key, pathValue.Value);
            if (wire.Query.Count > 0)
            {
                foreach (KeyValuePair<string, string> pair in wire.Query)
                    request.Parameters[pair.Key] = pair.Value;
                request.UseQueryString = true;
            }
            foreach (KeyValuePair<string, string> header in wire.Headers)
                request.Headers[header.Key] = header.Value;
            if (wire.Body != null)
            {
                request.Content = wire.Body;
                request.Headers["Content-Length"] = wire.Body.Length.ToString(CultureInfo.InvariantCulture);
            }
            return request;
        }
    }

    /// <summary>Reads any answer as raw bytes and hands it to the protocol decoders; errors become an
    /// AmazonServiceException carrying AWS's code and request id, so the SDK's retry policy sees them.</summary>
    internal sealed class JsonNodeUnmarshaller : ResponseUnmarshaller
    {
        private readonly AwsOperation _operation;

        public JsonNodeUnmarshaller(AwsOperation operation) { _operation = operation; }

        public override AmazonWebServiceResponse Unmarshall(UnmarshallerContext input)
        {
            byte[] body = ReadAll(input);
            JsonNode decoded = ResponseDecoder.Decode(_operation, body, out string? requestId);
            requestId ??= input.ResponseData.GetHeaderValue("x-amzn-RequestId");
            return new JsonNodeResponse
            {
                Body = decoded,
                RequestId = requestId,
                ResponseMetadata = new ResponseMetadata { RequestId = requestId },
            };
        }

        public override AmazonServiceException UnmarshallException(UnmarshallerContext input, Exception innerException, HttpStatusCode statusCode)
        {
            byte[] body = ReadAll(input);
            IWebResponseData data = input.ResponseData;
            AwsErrorInfo info = AwsErrors.Parse(name => Blank(data.GetHeaderValue(name)), body);
            int status = (int)statusCode;
            var errorType = status >= 500 ? ErrorType.Receiver : status >= 400 ? ErrorType.Sender : ErrorType.Unknown;
            return new SdkServiceErrorException(info.Message ?? string.Empty, innerException, errorType,
                info.Code ?? string.Empty, info.RequestId ?? string.Empty, statusCode, info);
        }

        private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

        private static byte[] ReadAll(UnmarshallerContext input)
        {
            var json = (JsonUnmarshallerContext)input;
            using var buffer = new MemoryStream();
            json.Stream.CopyTo(buffer);
            return buffer.ToArray();
        }

        protected override UnmarshallerContext ConstructUnmarshallerContext(Stream responseStream, bool maintainResponseBody, IWebResponseData response, bool isException) =>
            new JsonUnmarshallerContext(responseStream, maintainResponseBody, response, isException, null);

        protected override UnmarshallerContext ConstructUnmarshallerContext(Stream responseStream, bool maintainResponseBody, IWebResponseData response, bool isException, IRequestContext requestContext) =>
            new JsonUnmarshallerContext(responseStream, maintainResponseBody, response, isException, requestContext);
    }

    /// <summary>The SDK-side error, so its retry policy can judge it; AwsErrorTranslator turns it into AwsApiException.</summary>
    internal sealed class SdkServiceErrorException : AmazonServiceException
    {
        public SdkServiceErrorException(string message, Exception innerException, ErrorType errorType, string errorCode,
            string requestId, HttpStatusCode statusCode, AwsErrorInfo info)
            : base(message, innerException, errorType, errorCode, requestId, statusCode)
        {
            Info = info;
        }

        public AwsErrorInfo Info { get; }
    }
}
