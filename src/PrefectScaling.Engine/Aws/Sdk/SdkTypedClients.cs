using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SimpleSystemsManagement;

namespace PrefectScaling.Aws.Sdk
{
    /// <summary>The SDK's generated clients for the services that ship as packages (SSM, STS), configured
    /// with the same region, endpoint and credentials as the hand-made ones.</summary>
    internal static class SdkTypedClients
    {
        public static AmazonSimpleSystemsManagementClient Ssm(AWSCredentials credentials, string region, SdkEndpoint endpoint)
        {
            var config = new AmazonSimpleSystemsManagementConfig();
            Apply(config, region, endpoint);
            return new AmazonSimpleSystemsManagementClient(credentials, config);
        }

        public static AmazonSecurityTokenServiceClient Sts(AWSCredentials credentials, string region, SdkEndpoint endpoint)
        {
            var config = new AmazonSecurityTokenServiceConfig();
            Apply(config, region, endpoint);
            return new AmazonSecurityTokenServiceClient(credentials, config);
        }

        private static void Apply(ClientConfig config, string region, SdkEndpoint endpoint)
        {
            config.IgnoreConfiguredEndpointUrls = true;
            config.RetryMode = RequestRetryMode.Standard;
            if (endpoint.IsOverride)
            {
                config.ServiceURL = endpoint.Url;
                config.AuthenticationRegion = endpoint.SigningRegion;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            }
        }
    }
}
