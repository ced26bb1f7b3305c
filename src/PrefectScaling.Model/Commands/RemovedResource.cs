namespace PrefectScaling.Commands
{
    /// <summary>One resource Uninstall-PrefectBacklogPublisher removed.</summary>
    public sealed class RemovedResource
    {
        public string Action { get; set; } = string.Empty;
        public string Resource { get; set; } = string.Empty;
    }
}
