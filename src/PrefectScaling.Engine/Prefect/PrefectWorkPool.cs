namespace PrefectScaling.Prefect
{
    /// <summary>A work pool as the listing returns it.</summary>
    public sealed class PrefectWorkPool
    {
        public string Name { get; set; } = string.Empty;
        public string Id { get; set; } = string.Empty;
        public string? Type { get; set; }
        public bool IsPaused { get; set; }
        public int? ConcurrencyLimit { get; set; }
        public string? Status { get; set; }
    }
}
