using System.Text.Json.Nodes;

namespace PrefectScaling.TestSupport;

/// <summary>A JSON object from its text, for request bodies and AWS answers in the tests.</summary>
public static class Json
{
    public static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();
}
