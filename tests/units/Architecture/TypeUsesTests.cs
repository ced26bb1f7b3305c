using System.Text;

namespace PrefectScaling.Architecture.Tests
{
    /// <summary>The scanner finds what a grep of `using` lines would, and what it would not: a type named only
    /// inside a lambda of an async method.</summary>
    public class TypeUsesTests
    {
        [Fact]
        public void FindsATypeNamedOnlyInsideAnAsyncLambda()
        {
            var uses = TypeUses.In(typeof(Probe.Hidden).Assembly, t => t.Namespace == typeof(Probe.Hidden).Namespace).Select(u => u.Used).ToHashSet();
            Assert.Contains(typeof(UriBuilder), uses);
            Assert.Contains(typeof(StringBuilder), uses);
        }

        [Fact]
        public void DoesNotCountWhatIsNotUsed()
        {
            Assert.DoesNotContain(typeof(System.Net.Http.HttpClient), TypeUses.Of(typeof(Probe.Hidden)));
        }

        [Fact]
        public void TheMetadataScanFindsWhatTheReflectionScanFinds()
        {
            List<string> uses = MetadataTypeUses.In(typeof(Probe.Hidden).Assembly.Location)
                .Where(u => u.User == typeof(Probe.Hidden).FullName).Select(u => u.Used).ToList();
            Assert.Contains(typeof(UriBuilder).FullName!, uses);
            Assert.Contains(typeof(StringBuilder).FullName!, uses);
            Assert.DoesNotContain(typeof(System.Net.Http.HttpClient).FullName!, uses);
        }

        [Fact]
        public void TheMetadataScanFindsATypeNamedOnlyInAnAttributeOrAGenericArgument()
        {
            List<string> uses = MetadataTypeUses.In(typeof(Probe.Named).Assembly.Location)
                .Where(u => u.User == typeof(Probe.Named).FullName).Select(u => u.Used).ToList();
            Assert.Contains(typeof(System.Text.Json.Nodes.JsonArray).FullName!, uses);
            Assert.Contains(typeof(System.Text.Json.Nodes.JsonValue).FullName!, uses);
        }
    }
}

namespace PrefectScaling.Architecture.Tests.Probe
{
    internal sealed class Hidden
    {
        public async Task<int> RunAsync()
        {
            await Task.Yield();
            Func<string> f = () => new UriBuilder("http", "h").Host;
            return f().Length + Field.Length;
        }

        private readonly StringBuilder Field = new StringBuilder();
    }

    [AttributeUsage(AttributeTargets.Class)]
    internal sealed class MentionAttribute : Attribute
    {
        public MentionAttribute(Type type) { Type = type; }
        public Type Type { get; }
    }

    [Mention(typeof(System.Text.Json.Nodes.JsonArray))]
    internal sealed class Named
    {
        public int Count() => new List<System.Text.Json.Nodes.JsonValue?>().Count;
    }
}
