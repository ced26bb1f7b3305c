using System;

namespace PrefectScaling.Metrics
{
    /// <summary>Which dimensions a backlog metric carries; a user matches what an existing alarm reads.</summary>
    // Int64-backed, like BacklogMeasure, so that ConvertTo-Json writes the names.
    [Flags]
    public enum BacklogDimension : long
    {
        WorkQueue = 1,
        WorkPool = 2,
    }
}
