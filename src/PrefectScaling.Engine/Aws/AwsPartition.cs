using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws
{
    /// <summary>The partition a region belongs to, from the SDK's partition table: the one table that both the
    /// endpoints (<see cref="AwsEndpoints"/>) and the ARNs the module writes use.</summary>
    public static class AwsPartition
    {
        /// <summary>aws, aws-cn, aws-us-gov, ...; aws for a region the table does not know.</summary>
        public static string NameOf(string region) => SdkPartitions.Of(region).Name;
    }
}
