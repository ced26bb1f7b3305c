using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws
{
    /// <summary>Where each service's calls go and how they are signed, decided once per context. Every client uses
    /// this decision (the SDK's generated SSM and STS clients too), so what -Debug names is what is called.</summary>
    internal sealed class AwsEndpoints
    {
        /// <summary>The services with SDK-generated clients, named as the services of <see cref="AwsService.All"/> are.</summary>
        public const string SsmName = "SSM";
        public const string StsName = "STS";

        private readonly Dictionary<string, (SdkEndpoint Endpoint, string Source)> _endpoints = new Dictionary<string, (SdkEndpoint, string)>(StringComparer.Ordinal);

        private AwsEndpoints()
        {
        }

        /// <summary>For every service: -EndpointUrl, else AWS_ENDPOINT_URL_&lt;SERVICE_ID&gt;, else
        /// AWS_ENDPOINT_URL (both skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else the regional
        /// endpoint of the region's partition (IAM: the partition's global endpoint). Adds where overrides came
        /// from to <paramref name="sources"/>. Throws AwsApiException (InvalidSettings) for a value that is not an
        /// http(s) URL.</summary>
        public static AwsEndpoints Describe(string region, Func<string, string?> environment, string? endpointUrlParameter, List<string> sources)
        {
            var endpoints = new AwsEndpoints();
            string? endpointUrl = string.IsNullOrWhiteSpace(endpointUrlParameter) ? null : ValidateUrl(endpointUrlParameter!.Trim(), "-EndpointUrl");
            var services = AwsService.All.Select(s => (s.Name, Variable: s.EndpointVariable, Prefix: s.EndpointPrefix, Global: s.IsGlobal)).ToList();
            services.Add((SsmName, "AWS_ENDPOINT_URL_SSM", "ssm", false));
            services.Add((StsName, "AWS_ENDPOINT_URL_STS", "sts", false));
            bool ignoreEnvironment = string.Equals(environment("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
            string? Variable(string name)
            {
                string? value = environment(name);
                return string.IsNullOrWhiteSpace(value) ? null : ValidateUrl(value!.Trim(), "environment variable " + name);
            }
            string? generic = ignoreEnvironment ? null : Variable("AWS_ENDPOINT_URL");
            if (endpointUrl != null) sources.Add("endpoint: every service at " + endpointUrl + " (-EndpointUrl)");
            bool genericUsed = false;
            foreach (var service in services)
            {
                string? specific = ignoreEnvironment || endpointUrl != null ? null : Variable(service.Variable);
                if (endpointUrl != null)
                    endpoints._endpoints[service.Name] = (new SdkEndpoint(endpointUrl, region, true), "-EndpointUrl");
                else if (specific != null)
                {
                    endpoints._endpoints[service.Name] = (new SdkEndpoint(specific, region, true), service.Variable);
                    sources.Add("endpoint: " + service.Name + " at " + specific + " (" + service.Variable + ")");
                }
                else if (generic != null)
                {
                    endpoints._endpoints[service.Name] = (new SdkEndpoint(generic, region, true), "AWS_ENDPOINT_URL");
                    genericUsed = true;
                }
                else
                    endpoints._endpoints[service.Name] = (Regional(region, service.Prefix, service.Global), "regional endpoint");
            }
            if (genericUsed) sources.Add("endpoint: other services at " + generic + " (AWS_ENDPOINT_URL)");
            return endpoints;
        }

        /// <summary>Where a service's calls go (service names as in AwsService.Name, or SSM/STS), and why.</summary>
        public (SdkEndpoint Endpoint, string Source) For(string serviceName) => _endpoints[serviceName];

        /// <summary>The endpoint a client is about to be built for, logged on -Debug.</summary>
        public SdkEndpoint Use(string serviceName, IEngineLog log)
        {
            (SdkEndpoint endpoint, string source) = _endpoints[serviceName];
            log.Debug(serviceName + " endpoint " + endpoint.Url + " (" + source + "), signing region " + endpoint.SigningRegion);
            return endpoint;
        }

        /// <summary>The URL for a message; the service's name when it has none.</summary>
        public string UrlOf(string serviceName) => _endpoints.TryGetValue(serviceName, out var entry) ? entry.Endpoint.Url : serviceName;

        private static SdkEndpoint Regional(string region, string prefix, bool global)
        {
            (string partition, string suffix) = SdkPartitions.Of(region);
            if (global)
            {
                switch (partition)
                {
                    case "aws": return new SdkEndpoint("https://" + prefix + ".amazonaws.com", "us-east-1", false);
                    case "aws-cn": return new SdkEndpoint("https://" + prefix + ".cn-north-1.amazonaws.com.cn", "cn-north-1", false);
                    case "aws-us-gov": return new SdkEndpoint("https://" + prefix + ".us-gov.amazonaws.com", "us-gov-west-1", false);
                }
            }
            return new SdkEndpoint("https://" + prefix + "." + region + "." + suffix, region, false);
        }

        private static string ValidateUrl(string value, string where)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw AwsApiException.InvalidSettings("The endpoint in " + where + " is not an http(s) URL. Give a URL such as http://localhost:5000, or leave it out to use AWS's regional endpoints.");
            if (!string.IsNullOrEmpty(uri.UserInfo))
                throw AwsApiException.InvalidSettings("The endpoint in " + where + " carries a user name or password; AWS endpoints take none. Remove it.");
            return uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
    }
}
