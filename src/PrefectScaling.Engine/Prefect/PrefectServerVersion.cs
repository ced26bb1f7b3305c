using System;

namespace PrefectScaling.Prefect
{
    /// <summary>The Prefect server's version and what its API accepts: work pools from 2.8, not_any_
    /// and /flow_runs/paginate from 3.0.</summary>
    public sealed class PrefectServerVersion
    {
        // Prefect Cloud is always treated as the current 3.x API, as the official client does.
        public static readonly PrefectServerVersion Cloud = new PrefectServerVersion(new Version(3, 99, 0), "cloud", isCloud: true);

        // What we assume when the server will not say: the oldest API, so no filter key is sent that an
        // old server would silently ignore (which would count every run).
        public static readonly PrefectServerVersion Unknown = new PrefectServerVersion(new Version(2, 0, 0), "unknown", isCloud: false);

        private PrefectServerVersion(Version version, string text, bool isCloud)
        {
            Version = version;
            Text = text;
            IsCloud = isCloud;
        }

        public Version Version { get; }
        public string Text { get; }
        public bool IsCloud { get; }

        /// <summary>Work pools and the work_pools / work_pool_queues filter keys arrived in 2.8.0.</summary>
        public bool HasWorkPools => Version >= new Version(2, 8);

        /// <summary>not_any_ on state type and name: 3.0.0 on; a 422 before.</summary>
        public bool HasStateNotAny => Version.Major >= 3;

        /// <summary>POST /flow_runs/paginate, which returns the total with the first page: 3.0.0 on.</summary>
        public bool HasPaginate => Version.Major >= 3;

        public static PrefectServerVersion Parse(string text)
        {
            string trimmed = (text ?? string.Empty).Trim();
            int end = 0;
            while (end < trimmed.Length && (char.IsDigit(trimmed[end]) || trimmed[end] == '.')) end++;
            string[] parts = trimmed.Substring(0, end).Split(new[] { '.' }, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !int.TryParse(parts[0], out int major) || !int.TryParse(parts[1], out int minor))
                return Unknown;
            int patch = parts.Length > 2 && int.TryParse(parts[2], out int p) ? p : 0;
            return new PrefectServerVersion(new Version(major, minor, patch), trimmed, isCloud: false);
        }

        public override string ToString() => IsCloud ? "Prefect Cloud" : "Prefect " + Text;
    }
}
