using Amazon.Runtime.Internal.Endpoints.StandardLibrary;

namespace PrefectScaling.Aws.Sdk
{
    /// <summary>The partition a region belongs to, from the SDK's partition table.</summary>
    internal static class SdkPartitions
    {
        public static (string Name, string DnsSuffix) Of(string region)
        {
            Partition? partition = Fn.Partition(region);
            string name = partition?.name ?? "aws";
            string suffix = partition?.dnsSuffix ?? "amazonaws.com";
            return (name, suffix);
        }
    }
}
