using System.Text.Json.Nodes;

namespace PrefectScaling.Aws.Tests;

/// <summary>What "already as wanted" means when a Describe answer is compared with a Put input.</summary>
public sealed class JsonSubsetTests
{
    private static bool Contains(string existing, string wanted) => JsonSubset.Contains(JsonNode.Parse(existing), JsonNode.Parse(wanted));

    [Theory]
    [InlineData("""{"A":1,"B":"x","Added":"by AWS"}""", """{"A":1,"B":"x"}""")]
    [InlineData("""{"Period":"60","Enabled":"true"}""", """{"Period":60,"Enabled":true}""")]   // the query protocol answers text
    [InlineData("""{"Threshold":5.0}""", """{"Threshold":5}""")]
    [InlineData("""{}""", """{"DisableScaleIn":false}""")]                                       // a false may be left out
    [InlineData("""{"Dimensions":[{"Name":"WorkQueue","Value":"q"},{"Name":"WorkPool","Value":"p"}]}""",
                """{"Dimensions":[{"Name":"WorkPool","Value":"p"},{"Name":"WorkQueue","Value":"q"}]}""")]  // dimensions in any order
    [InlineData("""{"Steps":[{"Lower":0,"Adjust":1,"Extra":true},{"Lower":4,"Adjust":3}]}""", """{"Steps":[{"Lower":0,"Adjust":1},{"Lower":4,"Adjust":3}]}""")]
    public void An_answer_that_holds_every_wanted_member_contains_it(string existing, string wanted) =>
        Assert.True(Contains(existing, wanted));

    [Theory]
    [InlineData("""{"A":1}""", """{"A":1,"B":"x"}""")]                                           // a wanted member is missing
    [InlineData("""{"A":2}""", """{"A":1}""")]
    [InlineData("""{"Enabled":"false"}""", """{"Enabled":true}""")]
    [InlineData("""{}""", """{"DisableScaleIn":true}""")]                                        // only a false may be missing
    [InlineData("""{"Steps":[{"Lower":4},{"Lower":0}]}""", """{"Steps":[{"Lower":0},{"Lower":4}]}""")]   // other lists keep their order
    [InlineData("""{"Steps":[{"Lower":0},{"Lower":4},{"Lower":9}]}""", """{"Steps":[{"Lower":0},{"Lower":4}]}""")] // and their length
    [InlineData("""{"A":{"B":1}}""", """{"A":[1]}""")]
    [InlineData("""{"A":"1"}""", """{"A":{"B":1}}""")]
    public void An_answer_that_lacks_or_differs_in_a_wanted_member_does_not(string existing, string wanted) =>
        Assert.False(Contains(existing, wanted));

    [Fact]
    public void It_is_a_subset_test_not_an_equality()
    {
        Assert.True(Contains("""{"A":1,"B":2}""", """{"A":1}"""));
        Assert.False(Contains("""{"A":1}""", """{"A":1,"B":2}"""));
        Assert.True(JsonSubset.Contains(null, null));
        Assert.False(JsonSubset.Contains(JsonNode.Parse("1"), null));
        Assert.False(JsonSubset.Contains(null, JsonNode.Parse("1")));
    }
}
