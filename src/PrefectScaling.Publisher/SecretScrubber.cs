using System;
using System.Reflection;
using PrefectScaling.Prefect;

namespace PrefectScaling.Publisher
{
    /// <summary>Defence in depth: removes the Prefect secret (as given and as sent in the Authorization header) from
    /// anything the function logs or throws. Engine messages never hold it; this keeps it so should one slip in.</summary>
    internal static class SecretScrubber
    {
        // The engine knows the secret and how it is encoded; its Redact is internal, so it is reached by reflection
        // (a test checks it is found and works).
        internal static readonly MethodInfo? Redact = typeof(PrefectConnectionSettings).GetMethod(
            "Redact", BindingFlags.Instance | BindingFlags.NonPublic, null, new[] { typeof(string) }, null);

        public static Func<string, string> For(PrefectConnectionSettings settings)
        {
            if (settings.AuthKind == PrefectAuthKind.None || Redact == null) return text => text;
            return text => string.IsNullOrEmpty(text) ? text : (string?)Redact.Invoke(settings, new object[] { text }) ?? text;
        }
    }
}
