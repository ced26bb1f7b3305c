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

        /// <summary>The pool's Pending and Running runs, where the server reports it (3.x, with a limit set).</summary>
        public int? ActiveSlots { get; set; }
        public string? Status { get; set; }
    }
}
