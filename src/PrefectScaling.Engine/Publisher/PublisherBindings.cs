using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher
{
    /// <summary>How a publisher keeps its bindings: one SSM String parameter per binding under the publisher's own
    /// path (<see cref="PublisherNames.BindingsPath"/>), named .../&lt;cluster&gt;/&lt;service&gt; and holding the binding's
    /// JSON. Lambda caps a function's environment at 4 KB in all, so the environment holds only the path and a stamp
    /// of the whole set; a new stamp makes Lambda start new execution environments, which read the set again.</summary>
    public static class PublisherBindings
    {
        /// <summary>The most bindings one publisher takes; every read of them is bounded by it.</summary>
        public const int MaxBindings = 250;

        /// <summary>A Standard-tier SSM parameter's value is at most 4 KB.</summary>
        public const int MaxValueLength = 4096;

        /// <summary>The parameter that holds a binding.</summary>
        public static string ParameterName(string path, ServiceBinding binding) => path + "/" + binding.Cluster + "/" + binding.Service;

        /// <summary>What the parameter holds: {"cluster":…,"service":…,"scope":{…}}, the scope in its sorted form.</summary>
        public static string ValueOf(ServiceBinding binding) => Normal(binding).ToJson().ToJsonString();

        /// <summary>The binding with its scope sorted and without repeats, as it reads back from its JSON (BindingScope.From
        /// keeps the order it was given), so that a binding compares equal to itself stored and read back.</summary>
        public static ServiceBinding Normal(ServiceBinding binding) => ServiceBinding.FromJson(binding.ToJson());

        /// <summary>"&lt;count&gt;:&lt;16 hex&gt;": the set of bindings, in any order, as one short value for the environment.</summary>
        public static string Stamp(IEnumerable<ServiceBinding> bindings)
        {
            List<ServiceBinding> sorted = bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal).ToList();
            var text = new StringBuilder();
            foreach (ServiceBinding binding in sorted) text.Append(ValueOf(binding)).Append('\n');
            using var sha = SHA256.Create();
            byte[] hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text.ToString()));
            return sorted.Count.ToString(CultureInfo.InvariantCulture) + ":" + string.Concat(hash.Take(8).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }

        /// <summary>The binding a parameter under <paramref name="path"/> holds; null when it holds something else, or
        /// a binding of another service than its name says (so it cannot be what Install wrote there).</summary>
        public static ServiceBinding? Parse(string path, string name, string? value)
        {
            if (string.IsNullOrEmpty(value) || !value!.TrimStart().StartsWith("{", StringComparison.Ordinal)) return null;
            try
            {
                ServiceBinding binding = ServiceBinding.FromJson(JsonNode.Parse(value));
                return ParameterName(path, binding) == name ? binding : null;
            }
            catch (Exception e) when (e is JsonException || e is ArgumentException || e is InvalidOperationException || e is FormatException)
            {
                return null;
            }
        }

        /// <summary>The bindings stored for a publisher, as the function reads them: every parameter under the path that
        /// holds a binding, which together must be exactly the set Install stamped. A different set (Install did not
        /// finish, or somebody changed the parameters) is an error that publishes nothing, never a guess.</summary>
        public static async Task<IReadOnlyList<ServiceBinding>> LoadAsync(AwsContext aws, PublisherConfiguration configuration, IEngineLog log, CancellationToken cancellationToken)
        {
            string path = configuration.BindingsPath ?? throw new ArgumentException("The publisher's configuration names no bindings path.");
            IReadOnlyList<SsmParameterInfo> parameters = await aws.GetParametersByPathAsync(path, MaxBindings, log, cancellationToken).ConfigureAwait(false);
            List<ServiceBinding> bindings = parameters.Select(p => Parse(path, p.Name, p.Value)).Where(b => b != null).Select(b => b!)
                .OrderBy(b => b.ResourceId, StringComparer.Ordinal).ToList();
            string read = Stamp(bindings);
            if (read != configuration.BindingsStamp)
            {
                throw new ArgumentException("The bindings stored under " + path + " (" + bindings.Count + ", stamp " + read + ") are not the ones Install-PrefectBacklogPublisher wrote (stamp " +
                    configuration.BindingsStamp + "): an install did not finish, or the parameters were changed by hand. Nothing was published; run Install-PrefectBacklogPublisher again.");
            }
            log.Verbose("Read " + bindings.Count + " binding(s) from " + path + ".");
            return bindings;
        }

        /// <summary>The keys a binding entry may have (case-insensitive, as in PowerShell).</summary>
        public static readonly IReadOnlyList<string> EntryKeys = new[] { "Cluster", "Service", "WorkPool", "WorkQueue" };

        /// <summary>Reads the data of a binding file (what Import-PowerShellDataFile returns for
        /// @{ Bindings = @( @{ Cluster='c'; Service='s'; WorkPool='p'; WorkQueue='a','b' }, ... ) }) into bindings.
        /// Every entry is checked before any is used; the error lists every entry that is wrong, by number and service.</summary>
        public static IReadOnlyList<ServiceBinding> FromFileData(object? data, string source)
        {
            if (!(data is IDictionary top))
                throw new ArgumentException("The binding file " + source + " must hold one hashtable: @{ Bindings = @( @{ Cluster = '...'; Service = '...'; WorkPool = '...' } ) }.");
            var extra = top.Keys.Cast<object>().Select(k => k?.ToString() ?? string.Empty).Where(k => !string.Equals(k, "Bindings", StringComparison.OrdinalIgnoreCase)).ToList();
            if (extra.Count > 0)
                throw new ArgumentException("The binding file " + source + " has the key(s) " + string.Join(", ", extra) + "; it takes only Bindings, a list of @{ Cluster; Service; WorkPool; WorkQueue } entries.");
            object? list = top.Keys.Cast<object>().Where(k => string.Equals(k?.ToString(), "Bindings", StringComparison.OrdinalIgnoreCase)).Select(k => top[k]).FirstOrDefault();
            List<object?> entries = list is IDictionary one ? new List<object?> { one } : list is IEnumerable many && !(list is string) ? many.Cast<object?>().ToList() : new List<object?>();
            if (entries.Count == 0)
                throw new ArgumentException("The binding file " + source + " has no bindings: Bindings must list at least one @{ Cluster; Service; WorkPool and/or WorkQueue } entry.");
            if (entries.Count > MaxBindings)
                throw new ArgumentException("The binding file " + source + " has " + entries.Count + " bindings; a publisher takes at most " + MaxBindings + ".");

            var bindings = new List<ServiceBinding>();
            var problems = new List<string>();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < entries.Count; i++)
            {
                string label = "binding " + (i + 1);
                try
                {
                    if (!(entries[i] is IDictionary entry)) throw new ArgumentException("Not a hashtable @{ Cluster = '...'; Service = '...'; WorkPool = '...' }.");
                    string? cluster = Text(entry, "Cluster");
                    string? service = Text(entry, "Service");
                    label += " (Cluster '" + cluster + "', Service '" + service + "')";
                    var unknown = entry.Keys.Cast<object>().Select(k => k?.ToString() ?? string.Empty)
                        .Where(k => !EntryKeys.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
                    if (unknown.Count > 0) throw new ArgumentException("Unknown key(s) " + string.Join(", ", unknown) + "; an entry takes " + string.Join(", ", EntryKeys) + ".");
                    ServiceBinding binding = Of(cluster, service, Names(entry, "WorkPool"), Names(entry, "WorkQueue"));
                    if (seen.TryGetValue(binding.ResourceId, out int first))
                        throw new ArgumentException("The same service as binding " + first + ": a service has one binding, with one scope (list there every pool and queue it serves).");
                    seen[binding.ResourceId] = i + 1;
                    bindings.Add(binding);
                }
                catch (ArgumentException e)
                {
                    problems.Add(label + ": " + e.Message);
                }
            }
            if (problems.Count > 0)
                throw new ArgumentException("The binding file " + source + " has " + (problems.Count == 1 ? "a binding" : problems.Count + " bindings") + " that cannot be used; nothing was changed:" +
                    Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)));
            return bindings;
        }

        /// <summary>One binding from -Cluster, -Service, -WorkPool and -WorkQueue (exact names), checked as a binding
        /// file's entry is, and small enough for its parameter.</summary>
        public static ServiceBinding Of(string? cluster, string? service, IEnumerable<string>? pools, IEnumerable<string>? queues)
        {
            ServiceBinding binding = Normal(new ServiceBinding(cluster ?? string.Empty, service ?? string.Empty, BindingScope.From(pools, queues)));
            int length = ValueOf(binding).Length;
            if (length > MaxValueLength)
                throw new ArgumentException("The binding of " + binding.ResourceId + " is " + length + " characters as stored; an SSM parameter holds " + MaxValueLength + ". Bind fewer queues by name (a whole pool takes a few characters).");
            return binding;
        }

        /// <summary>The first release's scopes of a publisher as a binding scope, for converting it; null (with why)
        /// when they cannot be one: every queue, or names with wildcards.</summary>
        public static BindingScope? ScopeOf(IReadOnlyList<ScopeSelector> selectors, out string? why)
        {
            why = null;
            if (selectors.Count == 0 || selectors.Any(s => s.IsEverything))
            {
                why = "it counts every work queue of every pool";
                return null;
            }
            var wild = selectors.Where(s => s.Pool?.IsWildcard == true || s.Queue?.IsWildcard == true).ToList();
            if (wild.Count > 0)
            {
                why = "its scope has wildcards (" + string.Join("; ", wild) + ")";
                return null;
            }
            var pools = selectors.Where(s => s.Pool != null).Select(s => new BindingScope.PoolPart(s.Pool!.Exact!, s.Queue == null ? (IReadOnlyList<string>)Array.Empty<string>() : new[] { s.Queue.Exact! }));
            return BindingScope.Of(pools, selectors.Where(s => s.Pool == null).Select(s => s.Queue!.Exact!));
        }

        private static object? Value(IDictionary entry, string key) =>
            entry.Keys.Cast<object>().Where(k => string.Equals(k?.ToString(), key, StringComparison.OrdinalIgnoreCase)).Select(k => entry[k]).FirstOrDefault();

        private static string? Text(IDictionary entry, string key)
        {
            object? value = Value(entry, key);
            if (value == null) throw new ArgumentException("No " + key + ".");
            if (!(value is string text)) throw new ArgumentException(key + " is not one name.");
            return text;
        }

        private static List<string>? Names(IDictionary entry, string key)
        {
            object? value = Value(entry, key);
            if (value == null) return null;
            if (value is string one) return new List<string> { one };
            if (value is IEnumerable many && !(value is IDictionary))
            {
                var names = new List<string>();
                foreach (object? item in many)
                {
                    if (!(item is string name)) throw new ArgumentException(key + " is not a list of names.");
                    names.Add(name);
                }
                return names;
            }
            throw new ArgumentException(key + " is not a name or a list of names.");
        }
    }
}
