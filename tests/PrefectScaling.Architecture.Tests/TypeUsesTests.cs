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
}
