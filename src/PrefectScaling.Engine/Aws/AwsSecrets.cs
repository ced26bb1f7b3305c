using System;
using System.Collections.Generic;

namespace PrefectScaling.Aws
{
    internal static class AwsSecrets
    {
        /// <summary>Replaces every known secret value in a text meant for a user or a log.</summary>
        public static string Scrub(string? text, IReadOnlyList<string> secrets)
        {
            if (string.IsNullOrEmpty(text)) return text ?? string.Empty;
            string result = text!;
            foreach (string secret in secrets)
            {
                if (secret.Length >= 4 && result.IndexOf(secret, StringComparison.Ordinal) >= 0)
                    result = result.Replace(secret, "***");
            }
            return result;
        }
    }
}
