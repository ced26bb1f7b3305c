using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SimpleSystemsManagement;

namespace PrefectScaling.Aws.Sdk
{
    /// <summary>The SDK's generated clients for the services that ship as packages (SSM, STS), configured
    /// with the same endpoint, signing region and credentials as the hand-made ones. The endpoint is always the one
    /// AwsEndpoints decided (and logged), never one the SDK resolves on its own.</summary>
    internal static class SdkTypedClients
    {
        public static AmazonSimpleSystemsManagementClient Ssm(AWSCredentials credentials, SdkEndpoint endpoint)
        {
            var config = new AmazonSimpleSystemsManagementConfig();
            Apply(config, endpoint);
            return new AmazonSimpleSystemsManagementClient(credentials, config);
        }

        public static AmazonSecurityTokenServiceClient Sts(AWSCredentials credentials, SdkEndpoint endpoint)
        {
            var config = new AmazonSecurityTokenServiceConfig();
            Apply(config, endpoint);
            return new AmazonSecurityTokenServiceClient(credentials, config);
        }

        private static void Apply(ClientConfig config, SdkEndpoint endpoint)
        {
            config.IgnoreConfiguredEndpointUrls = true;
            config.RetryMode = RequestRetryMode.Standard;
            config.ServiceURL = endpoint.Url;
            config.AuthenticationRegion = endpoint.SigningRegion;
        }
    }
}
