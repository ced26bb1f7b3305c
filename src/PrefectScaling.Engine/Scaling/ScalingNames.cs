using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Bindings;

namespace PrefectScaling.Scaling
{
    /// <summary>How the module names and tags what it makes for a service, and how it tells its own policies and
    /// alarms from anybody else's.
    ///
    /// Names: <c>PrefectScaling/&lt;cluster&gt;/&lt;service&gt;/&lt;readable scope&gt;~&lt;16 hex&gt;[:out|:in|:wake]</c>.
    /// ECS cluster and service names are letters, digits, '-' and '_', so with '/' between them the head differs for
    /// every service and is never the start of another service's head (cluster a-b + service c and cluster a +
    /// service b-c, or service agent and agent-gpu, cannot meet). The hash of the whole identity (cluster, service
    /// and the binding's scope, each part length-prefixed) keeps names unique per binding, so a policy name can be
    /// looked up exactly. The readable scope is the binding's scope written out (<see cref="ReadableScope"/>); when it
    /// fits, it reads back exactly (<see cref="ScopeOf"/>, checked against the hash), else it is cut.
    ///
    /// Before bindings a policy followed one queue: <c>.../&lt;pool&gt;/&lt;queue&gt;~hash</c> (<see cref="QueueBaseName"/>),
    /// and the first release named it <c>PrefectScaling-&lt;cluster&gt;-&lt;service&gt;-[pool-]queue</c>. Both are still
    /// recognised as the service's, to be replaced by Set and removed by Remove.
    ///
    /// Alarm names are global in an account and region, so an alarm is the module's only when it carries the
    /// module's tags naming this exact cluster and service, and every action points at this service's policy of
    /// the same name (AAS policy ARNs carry the resource id). Alarms of the first release (named
    /// PrefectScaling-&lt;cluster&gt;-&lt;service&gt;-..., no tags) count when their actions prove they are this service's.</summary>
    public static class ScalingNames
    {
        public const string Prefix = "PrefectScaling/";

        /// <summary>The first release's names: PrefectScaling-cluster-service-[pool-]queue[:suffix].</summary>
        public const string LegacyPrefix = "PrefectScaling-";

        public const string ManagedByTag = "ManagedBy";
        public const string ManagedByValue = "PrefectScaling";
        public const string ClusterTag = "PrefectScaling:Cluster";
        public const string ServiceTag = "PrefectScaling:Service";

        /// <summary>CloudWatch AlarmName is 1-255 characters, Application Auto Scaling PolicyName 1-256 (API
        /// references); alarms take their policy's name, so both stay within 255.</summary>
        public const int MaxNameLength = 255;

        public static readonly IReadOnlyList<string> Suffixes = new[] { string.Empty, ":out", ":in", ":wake", CapacityPolicy.Suffix };

        private const int LongestSuffix = 5;          // ":wake"
        private const int HashLength = 16;            // hex digits: 64 bits of SHA-256
        private const int MaxServiceHead = 160;       // leaves at least 58 characters of readable scope
        private static readonly Regex Ending = new Regex("~[0-9a-f]{" + HashLength + "}(:out|:in|:wake|:cap)?$", RegexOptions.CultureInvariant);

        // ECS: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed"
        // (CreateCluster clusterName, CreateService serviceName).
        private static readonly Regex EcsName = new Regex("^[A-Za-z0-9_-]{1,255}$", RegexOptions.CultureInvariant);

        /// <summary>Checks a cluster and service name as ECS allows them (the names rest on it).</summary>
        public static void ValidateService(string? cluster, string? service)
        {
            Check("cluster", cluster);
            Check("service", service);
        }

        private static void Check(string what, string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("The " + what + " name cannot be empty.");
            if (value!.IndexOf('/') >= 0 || value.StartsWith("arn:", StringComparison.Ordinal))
                throw new ArgumentException("The " + what + " name '" + value + "' cannot contain '/': pass the name, not an ARN.");
            if (!EcsName.IsMatch(value))
                throw new ArgumentException("The " + what + " name '" + value + "' is not an ECS " + what + " name: ECS allows 1 to 255 letters, digits, '-' and '_'.");
        }

        public static string ResourceId(string cluster, string service) => "service/" + cluster + "/" + service;

        /// <summary>The start of every new-style name of a service's resources.</summary>
        public static string ServiceHead(string cluster, string service)
        {
            string head = cluster + "/" + service + "/";
            if (head.Length <= MaxServiceHead) return Prefix + head;
            // Very long names: a readable start and a hash; '~' never appears in an ECS name, so this head cannot
            // be the start of another service's full head.
            string hash = Hash(new[] { cluster, service }, 8);
            return Prefix + head.Substring(0, MaxServiceHead - hash.Length - 2) + "~" + hash + "/";
        }

        /// <summary>The name of a binding's policy (and alarm) without the kind's suffix.</summary>
        public static string BaseName(ServiceBinding binding)
        {
            string head = ServiceHead(binding.Cluster, binding.Service);
            string id = "~" + Hash(IdentityParts(binding), HashLength);
            int room = MaxNameLength - LongestSuffix - head.Length - id.Length;
            string scope = ReadableScope(binding.Scope);
            if (scope.Length > room) scope = scope.Substring(0, room);
            return head + scope + id;
        }

        /// <summary>The name a policy of one queue had before bindings (kept to find and replace it).</summary>
        public static string QueueBaseName(string cluster, string service, string? workPool, string workQueue)
        {
            string head = ServiceHead(cluster, service);
            string id = "~" + Hash(new[] { cluster, service, string.IsNullOrEmpty(workPool) ? null : workPool, workQueue }, HashLength);
            int room = MaxNameLength - LongestSuffix - head.Length - id.Length;
            string scope = Readable(string.IsNullOrEmpty(workPool) ? workQueue : workPool + "/" + workQueue);
            if (scope.Length > room) scope = scope.Substring(0, room);
            return head + scope + id;
        }

        /// <summary>The scope as a name part: a whole pool as its name, a pool's queues as pool/q1+q2, queues in any
        /// pool as */q1+q2, parts joined by ';'. Letters, digits, '.', '_' and '-' stay; every other character is
        /// %XX of its UTF-8 bytes, so the part is printable ASCII (PolicyName pattern \p{Print}+) and reads back.</summary>
        public static string ReadableScope(BindingScope scope)
        {
            var parts = scope.Pools.Select(p => p.IsWholePool ? Encode(p.Pool) : Encode(p.Pool) + "/" + string.Join("+", p.Queues.Select(Encode))).ToList();
            if (scope.AnyPoolQueues.Count > 0) parts.Add(AnyPool + "/" + string.Join("+", scope.AnyPoolQueues.Select(Encode)));
            return string.Join(";", parts);
        }

        /// <summary>The scope a policy or alarm name of this service holds, when the name holds it whole: the readable
        /// part read back and checked against the name's hash, for a binding's name or a per-queue one. Null for a
        /// name whose scope was cut to fit, a per-queue name whose characters were simplified, and the first
        /// release's names (their pool and queue cannot be told apart).</summary>
        public static BindingScope? ScopeOf(string? name, string cluster, string service) => Read(name, cluster, service).Scope;

        /// <summary>The scope of a name for people: the exact scope where the name gives it back, marked when it is
        /// one queue's name from before bindings; else the name's readable part, or the whole first-release name.</summary>
        public static string ScopeText(string name, string cluster, string service)
        {
            (BindingScope? scope, bool perQueue) = Read(name, cluster, service);
            if (scope != null) return scope + (perQueue ? " (one queue, from before bindings)" : string.Empty);
            string head = ServiceHead(cluster, service), baseName = WithoutSuffix(name);
            int tilde = baseName.LastIndexOf('~');
            return baseName.StartsWith(head, StringComparison.Ordinal) && tilde > head.Length
                ? baseName.Substring(head.Length, tilde - head.Length) + " (as the name has it)"
                : baseName + " (the first release's name)";
        }

        private static (BindingScope? Scope, bool PerQueue) Read(string? name, string cluster, string service)
        {
            if (name == null) return (null, false);
            string head = ServiceHead(cluster, service);
            string baseName = WithoutSuffix(name);
            int tilde = baseName.LastIndexOf('~');
            if (!baseName.StartsWith(head, StringComparison.Ordinal) || tilde < head.Length) return (null, false);
            string readable = baseName.Substring(head.Length, tilde - head.Length);

            BindingScope? scope = ParseReadableScope(readable);
            if (scope != null && BaseName(new ServiceBinding(cluster, service, scope)) == baseName) return (scope, false);

            // A per-queue name: "queue" or "pool/queue", where either may itself hold a '/'.
            if (readable.Length > 0 && QueueBaseName(cluster, service, null, readable) == baseName)
                return (BindingScope.Of(Array.Empty<BindingScope.PoolPart>(), new[] { readable }), true);
            for (int slash = readable.IndexOf('/'); slash > 0; slash = readable.IndexOf('/', slash + 1))
            {
                string pool = readable.Substring(0, slash), queue = readable.Substring(slash + 1);
                if (queue.Length > 0 && QueueBaseName(cluster, service, pool, queue) == baseName)
                    return (BindingScope.Of(new[] { new BindingScope.PoolPart(pool, new[] { queue }) }, null), true);
            }
            return (null, false);
        }

        /// <summary>The name without the kind's suffix (":out", ":in", ":wake").</summary>
        public static string WithoutSuffix(string name)
        {
            foreach (string suffix in Suffixes)
                if (suffix.Length > 0 && name.EndsWith(suffix, StringComparison.Ordinal)) return name.Substring(0, name.Length - suffix.Length);
            return name;
        }

        /// <summary>The first release's base name (kept to find and replace what it made).</summary>
        public static string LegacyBaseName(string cluster, string service, string? workPool, string workQueue)
        {
            string name = LegacyPrefix + cluster + "-" + service + "-" + (string.IsNullOrEmpty(workPool) ? string.Empty : workPool + "-") + workQueue;
            if (name.Length <= 200) return name;
            using var sha = SHA256.Create();
            string hash = string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(name)).Take(6).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            return name.Substring(0, LegacyHead) + "-" + hash;
        }

        /// <summary>Every name the module has used for a binding: its own, and, when the scope is one queue, that
        /// queue's names from before bindings and from the first release. What Remove with a scope removes.</summary>
        public static HashSet<string> ScopeNames(ServiceBinding binding)
        {
            var bases = new List<string> { BaseName(binding) };
            BindingScope scope = binding.Scope;
            (string? Pool, string Queue)? one =
                scope.AnyPoolQueues.Count == 0 && scope.Pools.Count == 1 && scope.Pools[0].Queues.Count == 1 ? (scope.Pools[0].Pool, scope.Pools[0].Queues[0])
                : scope.Pools.Count == 0 && scope.AnyPoolQueues.Count == 1 ? ((string?)null, scope.AnyPoolQueues[0])
                : ((string?, string)?)null;
            if (one != null)
            {
                bases.Add(QueueBaseName(binding.Cluster, binding.Service, one.Value.Pool, one.Value.Queue));
                bases.Add(LegacyBaseName(binding.Cluster, binding.Service, one.Value.Pool, one.Value.Queue));
            }
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (string baseName in bases)
                foreach (string suffix in Suffixes) names.Add(baseName + suffix);
            return names;
        }

        /// <summary>A name of the form the module gives this service's policies (any scope, any release).</summary>
        public static bool IsServiceName(string? name, string cluster, string service)
        {
            if (name == null) return false;
            string head = ServiceHead(cluster, service);
            if (name.StartsWith(head, StringComparison.Ordinal)) return Ending.IsMatch(name.Substring(head.Length));
            return IsLegacyServiceName(name, cluster, service);
        }

        /// <summary>The first release's form. Its prefix is ambiguous (service agent's prefix starts agent-gpu's
        /// names too), so it counts only together with proof of the service: an exact resource id for a policy,
        /// actions on this service's policies for an alarm.</summary>
        public static bool IsLegacyServiceName(string name, string cluster, string service)
        {
            string prefix = LegacyPrefix + cluster + "-" + service + "-";
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length) return true;
            // The first release cut names over 200 characters to 187, a '-' and a hash.
            return prefix.Length > LegacyHead && name.Length >= 200 && name[LegacyHead] == '-' && name.StartsWith(prefix.Substring(0, LegacyHead), StringComparison.Ordinal);
        }

        /// <summary>The start of every first-release name of a service (what DescribeAlarms is asked for; at most
        /// 187 characters, as the first release cut long names, so also within AlarmNamePrefix's 255).</summary>
        public static string LegacyServicePrefix(string cluster, string service)
        {
            string prefix = LegacyPrefix + cluster + "-" + service + "-";
            return prefix.Length <= LegacyHead ? prefix : prefix.Substring(0, LegacyHead);
        }

        private const int LegacyHead = 187;

        /// <summary>The tags the module puts on every alarm it makes (CloudWatch tag values are at most 256
        /// characters, so cluster and service go in two tags rather than one resource id of up to 519).</summary>
        public static JsonArray AlarmTags(string cluster, string service) => new JsonArray(
            new JsonObject { ["Key"] = ManagedByTag, ["Value"] = ManagedByValue },
            new JsonObject { ["Key"] = ClusterTag, ["Value"] = cluster },
            new JsonObject { ["Key"] = ServiceTag, ["Value"] = service });

        /// <summary>True when ListTagsForResource's Tags name this exact service as the module tags it.</summary>
        public static bool TagsNameService(JsonNode? tags, string cluster, string service)
        {
            var map = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (JsonNode? tag in tags as JsonArray ?? new JsonArray())
                if ((string?)tag?["Key"] is string key) map[key] = (string?)tag!["Value"];
            return map.TryGetValue(ManagedByTag, out string? by) && by == ManagedByValue
                && map.TryGetValue(ClusterTag, out string? c) && c == cluster
                && map.TryGetValue(ServiceTag, out string? s) && s == service;
        }

        /// <summary>The resource id and policy name in an Application Auto Scaling policy ARN
        /// (arn:aws:autoscaling:region:account:scalingPolicy:id:resource/ecs/service/c/s:policyName/name), or null.</summary>
        public static (string ResourceId, string PolicyName)? ParsePolicyArn(string? arn)
        {
            if (arn == null) return null;
            string[] head = arn.Split(new[] { ':' }, 7);
            if (head.Length < 7 || head[0] != "arn" || head[2] != "autoscaling" || head[5] != "scalingPolicy") return null;
            const string resource = ":resource/" + ScalingPolicyDocuments.ServiceNamespace + "/", policy = ":policyName/";
            int r = arn.IndexOf(resource, StringComparison.Ordinal);
            int p = r < 0 ? -1 : arn.IndexOf(policy, r, StringComparison.Ordinal);
            if (r < 0 || p < 0) return null;
            string name = arn.Substring(p + policy.Length);
            // Alarms that AWS makes for target tracking add ":createdBy/<id>"; the module's never do.
            return (arn.Substring(r + resource.Length, p - r - resource.Length), name);
        }

        /// <summary>Every action of the alarm is this service's policy of the alarm's own name (the module names an
        /// alarm after the policy it triggers), and there is at least one.</summary>
        public static bool ActionsAreServicePolicy(JsonObject alarm, string cluster, string service)
        {
            string? name = (string?)alarm["AlarmName"];
            JsonArray actions = alarm["AlarmActions"] as JsonArray ?? new JsonArray();
            if (name == null || actions.Count == 0) return false;
            if ((alarm["OKActions"] as JsonArray)?.Count > 0 || (alarm["InsufficientDataActions"] as JsonArray)?.Count > 0) return false;
            string resourceId = ResourceId(cluster, service);
            return actions.All(a => ParsePolicyArn((string?)a) is var parsed && parsed != null && parsed.Value.ResourceId == resourceId && parsed.Value.PolicyName == name);
        }

        private const string AnyPool = "*";

        /// <summary>The parts the identity hash is taken over: cluster, service, then each pool with its queue count
        /// and queues, then the any-pool queues with their count; the counts keep the parts from running together.</summary>
        private static IEnumerable<string?> IdentityParts(ServiceBinding binding)
        {
            yield return binding.Cluster;
            yield return binding.Service;
            foreach (BindingScope.PoolPart pool in binding.Scope.Pools)
            {
                yield return "pool";
                yield return pool.Pool;
                yield return pool.Queues.Count.ToString(CultureInfo.InvariantCulture);
                foreach (string queue in pool.Queues) yield return queue;
            }
            yield return "any";
            yield return binding.Scope.AnyPoolQueues.Count.ToString(CultureInfo.InvariantCulture);
            foreach (string queue in binding.Scope.AnyPoolQueues) yield return queue;
        }

        private static bool IsPlain(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

        private static string Encode(string name)
        {
            var sb = new StringBuilder(name.Length);
            foreach (byte b in Encoding.UTF8.GetBytes(name))
            {
                if (b < 128 && IsPlain((char)b)) sb.Append((char)b);
                else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }

        /// <summary>The inverse of Encode, or null for text Encode never writes.</summary>
        private static string? Decode(string text)
        {
            var bytes = new List<byte>(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (IsPlain(c)) { bytes.Add((byte)c); continue; }
                if (c != '%' || i + 2 >= text.Length) return null;
                if (!byte.TryParse(text.Substring(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)) return null;
                bytes.Add(b);
                i += 2;
            }
            try
            {
                return new UTF8Encoding(false, true).GetString(bytes.ToArray());
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        /// <summary>The inverse of ReadableScope, or null.</summary>
        private static BindingScope? ParseReadableScope(string readable)
        {
            var pools = new List<BindingScope.PoolPart>();
            var any = new List<string>();
            foreach (string part in readable.Split(';'))
            {
                int slash = part.IndexOf('/');
                string? pool = slash < 0 ? Decode(part) : part.Substring(0, slash) == AnyPool ? AnyPool : Decode(part.Substring(0, slash));
                if (pool == null) return null;
                var queues = new List<string>();
                if (slash >= 0)
                {
                    foreach (string encoded in part.Substring(slash + 1).Split('+'))
                    {
                        string? queue = Decode(encoded);
                        if (string.IsNullOrEmpty(queue)) return null;
                        queues.Add(queue!);
                    }
                }
                if (slash >= 0 && pool == AnyPool) any.AddRange(queues);
                else pools.Add(new BindingScope.PoolPart(pool, queues));
            }
            try
            {
                return BindingScope.Of(pools, any);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        /// <summary>Letters, digits, '.', '_', '-' and the '/' between pool and queue; anything else '_'. Policy names
        /// must be printable ASCII (PolicyName pattern \p{Print}+), and the hash carries the exact identity.</summary>
        private static string Readable(string text)
        {
            var sb = new StringBuilder(text.Length);
            foreach (char c in text)
                sb.Append(c < 128 && (char.IsLetterOrDigit(c) || c == '.' || c == '_' || c == '-' || c == '/') ? c : '_');
            return sb.ToString();
        }

        /// <summary>Hex of SHA-256 over the parts, each length-prefixed (a missing part is "-"), so no two lists of
        /// parts share an input.</summary>
        private static string Hash(IEnumerable<string?> parts, int length)
        {
            string input = string.Join("|", parts.Select(p => p == null ? "-" : p.Length.ToString(CultureInfo.InvariantCulture) + ":" + p));
            using var sha = SHA256.Create();
            byte[] digest = sha.ComputeHash(Encoding.UTF8.GetBytes(input));
            return string.Concat(digest.Take(length / 2).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }
    }
}
