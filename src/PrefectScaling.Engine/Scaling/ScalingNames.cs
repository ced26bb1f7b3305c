using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace PrefectScaling.Scaling
{
    /// <summary>How the module names and tags what it makes for a service, and how it tells its own policies and
    /// alarms from anybody else's.
    ///
    /// Names: <c>PrefectScaling/&lt;cluster&gt;/&lt;service&gt;/&lt;readable scope&gt;~&lt;16 hex&gt;[:out|:in|:wake]</c>.
    /// ECS cluster and service names are letters, digits, '-' and '_', so with '/' between them the head differs for
    /// every service and is never the start of another service's head (cluster a-b + service c and cluster a +
    /// service b-c, or service agent and agent-gpu, cannot meet). The readable scope is only for people (it is
    /// shortened and simplified to fit); the hash of the whole identity (cluster, service, pool, queue, each
    /// length-prefixed) keeps names unique per scope, so a policy name can be looked up exactly.
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

        public static readonly IReadOnlyList<string> Suffixes = new[] { string.Empty, ":out", ":in", ":wake" };

        private const int LongestSuffix = 5;          // ":wake"
        private const int HashLength = 16;            // hex digits: 64 bits of SHA-256
        private const int MaxServiceHead = 160;       // leaves at least 58 characters of readable scope
        private static readonly Regex Ending = new Regex("~[0-9a-f]{" + HashLength + "}(:out|:in|:wake)?$", RegexOptions.CultureInvariant);

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

        /// <summary>The name of a scope's policy (and alarm) without the kind's suffix.</summary>
        public static string BaseName(string cluster, string service, string? workPool, string workQueue)
        {
            string head = ServiceHead(cluster, service);
            string id = "~" + Hash(new[] { cluster, service, string.IsNullOrEmpty(workPool) ? null : workPool, workQueue }, HashLength);
            int room = MaxNameLength - LongestSuffix - head.Length - id.Length;
            string scope = Readable(string.IsNullOrEmpty(workPool) ? workQueue : workPool + "/" + workQueue);
            if (scope.Length > room) scope = scope.Substring(0, room);
            return head + scope + id;
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

        /// <summary>Every name the module has used for one scope: the new ones and the first release's.</summary>
        public static HashSet<string> ScopeNames(string cluster, string service, string? workPool, string workQueue)
        {
            string current = BaseName(cluster, service, workPool, workQueue), legacy = LegacyBaseName(cluster, service, workPool, workQueue);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (string suffix in Suffixes)
            {
                names.Add(current + suffix);
                names.Add(legacy + suffix);
            }
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
