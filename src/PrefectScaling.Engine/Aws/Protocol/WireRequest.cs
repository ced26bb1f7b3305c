using System.Collections.Generic;

namespace PrefectScaling.Aws.Protocol
{
    /// <summary>An HTTP request as a protocol lays it out, before the SDK adds the endpoint and signs it.</summary>
    internal sealed class WireRequest
    {
        public string Method { get; set; } = "POST";
        /// <summary>A path template; {Name} parts are filled from PathValues (the SDK escapes them).</summary>
        public string Path { get; set; } = "/";
        public Dictionary<string, string> PathValues { get; } = new Dictionary<string, string>();
        public List<KeyValuePair<string, string>> Query { get; } = new List<KeyValuePair<string, string>>();
        public Dictionary<string, string> Headers { get; } = new Dictionary<string, string>();
        public byte[]? Body { get; set; }
    }
}
