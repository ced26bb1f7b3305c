using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

/// <summary>Assertions on the JSON the emulator answers.</summary>
internal static class JsonAssert
{
    public static void Equal(string expectedJson, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expectedJson), actual),
            $"expected {expectedJson}\n  actual {actual?.ToJsonString()}");

    public static void HasKeys(JsonNode? node, params string[] keys)
    {
        var o = Assert.IsType<JsonObject>(node);
        foreach (var k in keys) Assert.True(o.ContainsKey(k), $"missing key '{k}' in {o.ToJsonString()}");
    }

    public static void LacksKeys(JsonNode? node, params string[] keys)
    {
        var o = Assert.IsType<JsonObject>(node);
        foreach (var k in keys) Assert.False(o.ContainsKey(k), $"unexpected key '{k}' in {o.ToJsonString()}");
    }

    public static void IsoUtc(JsonNode? node)
    {
        var s = node!.GetValue<string>();
        // 2.x writes UTC as +00:00, 3.x (pydantic 2) as Z.
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)$", s);
    }
}
