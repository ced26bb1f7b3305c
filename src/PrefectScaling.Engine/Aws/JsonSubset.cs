using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PrefectScaling.Aws
{
    /// <summary>Whether what AWS answers already holds what the module would write: every member of the wanted
    /// document is in the existing one with an equal value. Members AWS adds are ignored, so a Describe answer can be
    /// compared with a Put input.</summary>
    internal static class JsonSubset
    {
        /// <summary>True when every member of <paramref name="wanted"/> is in <paramref name="existing"/> with an equal
        /// value. Values are compared by meaning (the query protocol answers "60" for 60, "true" for true), a wanted
        /// false may be missing, and dimension lists ({Name, Value}) are compared in any order; other lists must
        /// have the same length and order.</summary>
        public static bool Contains(JsonNode? existing, JsonNode? wanted)
        {
            switch (wanted)
            {
                case null:
                    return existing == null;
                case JsonObject wantedObject:
                    if (existing is not JsonObject existingObject) return false;
                    foreach (KeyValuePair<string, JsonNode?> member in wantedObject)
                    {
                        existingObject.TryGetPropertyValue(member.Key, out JsonNode? other);
                        if (other == null && member.Value is JsonValue v && v.TryGetValue(out bool flag) && !flag) continue; // false may be left out
                        if (!Contains(other, member.Value)) return false;
                    }
                    return true;
                case JsonArray wantedArray:
                    if (existing is not JsonArray existingArray || existingArray.Count != wantedArray.Count) return false;
                    List<JsonNode?> left = Ordered(wantedArray), right = Ordered(existingArray);
                    for (int i = 0; i < left.Count; i++) if (!Contains(right[i], left[i])) return false;
                    return true;
                default:
                    return existing is JsonValue && Scalar(wanted) == Scalar(existing);
            }
        }

        /// <summary>Dimension lists ({Name, Value}) are compared as sets; other lists in order.</summary>
        private static List<JsonNode?> Ordered(JsonArray array) =>
            array.All(n => n is JsonObject o && o.ContainsKey("Name") && o.ContainsKey("Value") && o.Count == 2)
                ? array.OrderBy(n => (string?)n!["Name"], StringComparer.Ordinal).ToList()
                : array.ToList();

        private static string Scalar(JsonNode node)
        {
            JsonElement element = JsonSerializer.SerializeToElement(node);
            switch (element.ValueKind)
            {
                case JsonValueKind.Number: return element.GetDouble().ToString("R", CultureInfo.InvariantCulture);
                case JsonValueKind.True: return "true";
                case JsonValueKind.False: return "false";
                case JsonValueKind.String:
                    string text = element.GetString()!;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number)) return number.ToString("R", CultureInfo.InvariantCulture);
                    if (bool.TryParse(text, out bool flag)) return flag ? "true" : "false";
                    return text;
                default: return element.GetRawText();
            }
        }
    }
}
