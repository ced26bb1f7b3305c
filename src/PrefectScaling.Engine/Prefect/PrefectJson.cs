using System.Globalization;
using System.Text.Json;

namespace PrefectScaling.Prefect
{
    /// <summary>Reads numbers from Prefect answers strictly: a count, a page total or a limit that is not a whole
    /// number from 0 to 2,147,483,647 is a protocol error, never a guess and never an unhandled exception.</summary>
    internal static class PrefectJson
    {
        /// <summary>A count that must be there (a /flow_runs/count answer, a page total).</summary>
        internal static int Count(JsonElement value, string what, string path) =>
            TryCount(value, out int count) ? count : throw NotACount(value, what, path);

        /// <summary>A property that must hold a count.</summary>
        internal static int RequiredCount(JsonElement item, string name, string path) =>
            item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out JsonElement value)
                ? Count(value, "\"" + name + "\"", path)
                : throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse,
                    "The Prefect API answered " + path + " without \"" + name + "\"; nothing was counted.", endpoint: path);

        /// <summary>A property that may be absent or null (no limit), and otherwise holds a count.</summary>
        internal static int? OptionalCount(JsonElement item, string name, string path)
        {
            if (!item.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null) return null;
            return Count(value, "\"" + name + "\"", path);
        }

        private static bool TryCount(JsonElement value, out int count)
        {
            count = 0;
            // TryGetDecimal takes 12, 12.0 and 1.2e1 alike; 1e300 does not fit and 3.5 has a fraction.
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out decimal number)) return false;
            if (number < 0 || number > int.MaxValue || number != decimal.Truncate(number)) return false;
            count = (int)number;
            return true;
        }

        private static PrefectApiException NotACount(JsonElement value, string what, string path) =>
            new PrefectApiException(PrefectErrorKind.UnexpectedResponse,
                "The Prefect API answered " + path + " with " + what + " = " + Describe(value) +
                ", which is not a count (a whole number from 0 to " + int.MaxValue.ToString("N0", CultureInfo.InvariantCulture) + "); nothing was counted.",
                endpoint: path);

        /// <summary>A number as sent (it cannot hold a secret); other kinds only by name, since a string could hold anything.</summary>
        private static string Describe(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Number => Shorten(value.GetRawText()),
            JsonValueKind.Null => "null",
            JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            JsonValueKind.String => "a string",
            JsonValueKind.Array => "a list",
            JsonValueKind.Object => "an object",
            _ => "nothing",
        };

        private static string Shorten(string text) => text.Length > 40 ? text.Substring(0, 40) + "…" : text;
    }
}
