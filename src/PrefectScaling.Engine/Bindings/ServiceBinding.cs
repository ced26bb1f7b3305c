using System;
using System.Text.Json.Nodes;
using PrefectScaling.Scaling;

namespace PrefectScaling.Bindings
{
    /// <summary>An ECS service and the scope its agents or workers serve: the unit the module publishes and scales.
    /// A service has one binding; its backlog is published as one series per measure, named by the service alone
    /// (<see cref="BindingSeries"/>), so the publisher, Publish and Set cannot disagree on what a policy reads.</summary>
    public sealed class ServiceBinding : IEquatable<ServiceBinding>
    {
        public ServiceBinding(string cluster, string service, BindingScope scope)
        {
            ScalingNames.ValidateService(cluster, service);
            Cluster = cluster;
            Service = service;
            Scope = scope ?? throw new ArgumentNullException(nameof(scope));
        }

        public string Cluster { get; }
        public string Service { get; }
        public BindingScope Scope { get; }

        /// <summary>service/cluster/service: Application Auto Scaling's resource id, and the binding's key.</summary>
        public string ResourceId => ScalingNames.ResourceId(Cluster, Service);

        public override string ToString() => ResourceId + " <- " + Scope;

        /// <summary>{"cluster":…,"service":…,"scope":{…}}: how a publisher stores its bindings.</summary>
        public JsonObject ToJson() => new JsonObject { ["cluster"] = Cluster, ["service"] = Service, ["scope"] = Scope.ToJson() };

        public static ServiceBinding FromJson(JsonNode? json)
        {
            if (json is not JsonObject o) throw new ArgumentException("A binding must be a JSON object with cluster, service and scope.");
            return new ServiceBinding((string?)o["cluster"] ?? string.Empty, (string?)o["service"] ?? string.Empty, BindingScope.FromJson(o["scope"]));
        }

        public bool Equals(ServiceBinding? other) => other != null && Cluster == other.Cluster && Service == other.Service && Scope.Equals(other.Scope);
        public override bool Equals(object? obj) => Equals(obj as ServiceBinding);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ResourceId) ^ Scope.GetHashCode();
    }
}
