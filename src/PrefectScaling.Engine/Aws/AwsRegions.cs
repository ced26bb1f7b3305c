using System.Collections.Generic;
using System.Linq;
using Amazon;

namespace PrefectScaling.Aws
{
    /// <summary>A region the AWS SDK knows, for tab completion.</summary>
    public sealed class AwsRegionInfo
    {
        public AwsRegionInfo(string name, string displayName)
        {
            Name = name;
            DisplayName = displayName;
        }

        public string Name { get; }
        public string DisplayName { get; }
    }

    public static class AwsRegions
    {
        public static IReadOnlyList<AwsRegionInfo> All() =>
            RegionEndpoint.EnumerableAllRegions.Select(r => new AwsRegionInfo(r.SystemName, r.DisplayName)).OrderBy(r => r.Name).ToList();
    }
}
