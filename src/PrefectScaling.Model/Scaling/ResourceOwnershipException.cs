using System;

namespace PrefectScaling.Scaling
{
    /// <summary>A change the module refuses because it would touch what it did not make, or could not finish because
    /// something else kept changing the same resources. Nothing of the refused plan was applied.</summary>
    public sealed class ResourceOwnershipException : InvalidOperationException
    {
        public ResourceOwnershipException(string errorId, string message) : base(message)
        {
            ErrorId = errorId;
        }

        /// <summary>AlarmNameTaken, OtherScopesOnTarget, UnmanagedScalingOnTarget, ScalingDidNotSettle, PublisherNameTaken.</summary>
        public string ErrorId { get; }
    }
}
