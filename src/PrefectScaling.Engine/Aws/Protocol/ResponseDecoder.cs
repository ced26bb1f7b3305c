using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;

namespace PrefectScaling.Aws.Protocol
{
    /// <summary>Turns a successful answer's body into JSON, generically per protocol.</summary>
    internal static class ResponseDecoder
    {
        public static JsonNode Decode(AwsOperation operation, byte[] body, out string? requestId)
        {
            requestId = null;
            if (operation.Service.Protocol == AwsProtocol.Query)
                return DecodeQuery(operation, body, out requestId);
            if (IsBlank(body)) return new JsonObject();
            return JsonNode.Parse(body) ?? new JsonObject();
        }

        /// <summary>awsQuery: the &lt;OpResult&gt; element as JSON. An element whose children are all
        /// &lt;member&gt; (or that the operation names as a list) is an array, other elements with children are
        /// objects, leaves are strings. No result element gives an empty object.</summary>
        private static JsonNode DecodeQuery(AwsOperation operation, byte[] body, out string? requestId)
        {
            requestId = null;
            if (IsBlank(body)) return new JsonObject();
            XElement root = ParseXml(body);
            requestId = root.Descendants().FirstOrDefault(e => e.Name.LocalName == "RequestId")?.Value;
            string resultName = operation.Name + "Result";
            XElement? result = root.Elements().FirstOrDefault(e => e.Name.LocalName == resultName);
            if (result == null) return new JsonObject();
            return ToObject(result, operation);
        }

        internal static XElement ParseXml(byte[] body)
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var stream = new MemoryStream(body, writable: false);
            using XmlReader reader = XmlReader.Create(stream, settings);
            return XElement.Load(reader);
        }

        private static JsonObject ToObject(XElement element, AwsOperation operation)
        {
            var obj = new JsonObject();
            HashSet<string>? repeated = null;
            foreach (XElement child in element.Elements())
            {
                string name = child.Name.LocalName;
                JsonNode? value = ToNode(child, operation);
                if (!obj.ContainsKey(name)) { obj[name] = value; continue; }
                // A flattened list: the same element repeated.
                repeated ??= new HashSet<string>(StringComparer.Ordinal);
                if (repeated.Add(name))
                {
                    JsonNode? first = obj[name];
                    obj.Remove(name);
                    obj[name] = new JsonArray(first, value);
                }
                else ((JsonArray)obj[name]!).Add(value);
            }
            return obj;
        }

        private static JsonNode? ToNode(XElement element, AwsOperation operation)
        {
            bool hasChildren = element.HasElements;
            bool isList = operation.ListElements.Contains(element.Name.LocalName)
                || (hasChildren && element.Elements().All(e => e.Name.LocalName == "member"));
            if (isList)
            {
                var array = new JsonArray();
                foreach (XElement item in element.Elements())
                    array.Add(item.HasElements ? ToObject(item, operation) : (JsonNode)JsonValue.Create(item.Value)!);
                return array;
            }
            if (hasChildren) return ToObject(element, operation);
            return JsonValue.Create(element.Value);
        }

        internal static bool IsBlank(byte[]? body)
        {
            if (body == null) return true;
            foreach (byte b in body)
                if (b != (byte)' ' && b != (byte)'\n' && b != (byte)'\r' && b != (byte)'\t') return false;
            return true;
        }

        internal static string Text(byte[] body) => Encoding.UTF8.GetString(body);
    }
}
