using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PrefectScaling.Aws.Protocol
{
    /// <summary>Lays out an operation's JSON input as its protocol wants it on the wire.</summary>
    internal static class RequestEncoder
    {
        private static readonly Regex PathParameter = new Regex(@"\{([A-Za-z0-9_]+)\}", RegexOptions.CultureInvariant);

        public static WireRequest Encode(AwsOperation operation, JsonObject input)
        {
            switch (operation.Service.Protocol)
            {
                case AwsProtocol.Query: return EncodeQuery(operation, input);
                case AwsProtocol.Json: return EncodeJson(operation, input);
                case AwsProtocol.RestJson: return EncodeRestJson(operation, input);
                default: throw new NotSupportedException(operation.Service.Protocol.ToString());
            }
        }

        private static WireRequest EncodeQuery(AwsOperation operation, JsonObject input)
        {
            var pairs = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("Action", operation.Name),
                new KeyValuePair<string, string>("Version", operation.Service.ApiVersion),
            };
            pairs.AddRange(Flatten(input));
            var request = new WireRequest { Method = "POST", Path = "/" };
            request.Headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8";
            request.Body = Encoding.UTF8.GetBytes(FormEncode(pairs));
            return request;
        }

        private static WireRequest EncodeJson(AwsOperation operation, JsonObject input)
        {
            var request = new WireRequest { Method = "POST", Path = "/" };
            request.Headers["X-Amz-Target"] = operation.Service.TargetPrefix + "." + operation.Name;
            request.Headers["Content-Type"] = "application/x-amz-json-" + operation.Service.JsonVersion;
            request.Body = Encoding.UTF8.GetBytes(input.ToJsonString());
            return request;
        }

        private static WireRequest EncodeRestJson(AwsOperation operation, JsonObject input)
        {
            string template = operation.RequestUri ?? throw new InvalidOperationException(operation + " has no request URI.");
            var request = new WireRequest { Method = operation.HttpMethod, Path = template };
            var bodyMembers = new JsonObject();
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match match in PathParameter.Matches(template))
            {
                string member = match.Groups[1].Value;
                string? value = Scalar(input[member]);
                if (string.IsNullOrEmpty(value))
                    throw new ArgumentException(operation + " needs the input member " + member + ".", nameof(input));
                request.PathValues["{" + member + "}"] = value!;
                used.Add(member);
            }
            foreach (string member in operation.QueryMembers)
            {
                string? value = Scalar(input[member]);
                if (value != null) request.Query.Add(new KeyValuePair<string, string>(member, value));
                used.Add(member);
            }
            foreach (KeyValuePair<string, JsonNode?> property in input)
            {
                if (!used.Contains(property.Key))
                    bodyMembers[property.Key] = property.Value?.DeepClone();
            }
            bool sendsBody = operation.HttpMethod != "GET" && operation.HttpMethod != "DELETE" && operation.HttpMethod != "HEAD";
            if (sendsBody)
            {
                request.Headers["Content-Type"] = "application/json";
                request.Body = Encoding.UTF8.GetBytes(bodyMembers.ToJsonString());
            }
            else if (bodyMembers.Count > 0)
            {
                throw new ArgumentException(operation + " takes no body; unexpected input members: " + string.Join(", ", Keys(bodyMembers)) + ".", nameof(input));
            }
            return request;
        }

        /// <summary>awsQuery flattening: object members become Parent.Child, list items Name.member.N
        /// (1-based), an empty list Name= ; booleans lowercase, numbers invariant, null members left out.</summary>
        internal static List<KeyValuePair<string, string>> Flatten(JsonObject input)
        {
            var pairs = new List<KeyValuePair<string, string>>();
            foreach (KeyValuePair<string, JsonNode?> property in input)
                FlattenInto(pairs, property.Key, property.Value);
            return pairs;
        }

        private static void FlattenInto(List<KeyValuePair<string, string>> pairs, string prefix, JsonNode? node)
        {
            switch (node)
            {
                case null:
                    return;
                case JsonObject obj:
                    foreach (KeyValuePair<string, JsonNode?> property in obj)
                        FlattenInto(pairs, prefix + "." + property.Key, property.Value);
                    return;
                case JsonArray array:
                    if (array.Count == 0)
                    {
                        pairs.Add(new KeyValuePair<string, string>(prefix, string.Empty));
                        return;
                    }
                    for (int i = 0; i < array.Count; i++)
                        FlattenInto(pairs, prefix + ".member." + (i + 1).ToString(CultureInfo.InvariantCulture), array[i]);
                    return;
                default:
                    pairs.Add(new KeyValuePair<string, string>(prefix, Scalar(node) ?? string.Empty));
                    return;
            }
        }

        /// <summary>A JSON scalar as text: strings as they are, true/false, numbers in invariant form.</summary>
        internal static string? Scalar(JsonNode? node)
        {
            if (node is not JsonValue value) return null;
            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    return value.TryGetValue(out string? text) ? text : JsonSerializer.Deserialize<string>(value.ToJsonString());
                case JsonValueKind.True: return "true";
                case JsonValueKind.False: return "false";
                case JsonValueKind.Null:
                case JsonValueKind.Undefined: return null;
                default: return value.ToJsonString();
            }
        }

        internal static string FormEncode(IEnumerable<KeyValuePair<string, string>> pairs)
        {
            var builder = new StringBuilder();
            foreach (KeyValuePair<string, string> pair in pairs)
            {
                if (builder.Length > 0) builder.Append('&');
                builder.Append(Uri.EscapeDataString(pair.Key)).Append('=').Append(Uri.EscapeDataString(pair.Value));
            }
            return builder.ToString();
        }

        private static IEnumerable<string> Keys(JsonObject obj)
        {
            foreach (KeyValuePair<string, JsonNode?> property in obj) yield return property.Key;
        }
    }
}
