using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace PrefectScaling.Architecture.Tests;

/// <summary>The rules between the parts, as ARCHITECTURE.md states them, checked on the built assemblies.</summary>
public class DependencyRuleTests
{
    private static readonly Assembly Engine = typeof(PrefectScaling.Prefect.PrefectClient).Assembly;
    private static readonly Assembly Lambda = typeof(PrefectScaling.Publisher.Function).Assembly;
    private static readonly Assembly Model = typeof(PrefectScaling.Backlog.BacklogMeasure).Assembly;

    /// <summary>The cmdlet assembly, copied beside the tests but never loaded: its base types live in PowerShell.</summary>
    private static readonly string CmdletAssemblyPath = Path.Combine(AppContext.BaseDirectory, Root + ".dll");

    /// <summary>The BCL as a netstandard2.0 assembly references it: the netstandard facade, and the runtime's
    /// AssemblyLoadContext, which netstandard2.0 lacks (its package is compiled against, never shipped).</summary>
    private static readonly string[] BaseClassLibrary = { "netstandard", "System.Runtime.Loader" };

    private const string Root = "PrefectScaling";

    /// <summary>The Prefect half of the engine: its two folders and the connection that holds them together.</summary>
    private static bool IsPrefectHalf(Type t) =>
        t.Assembly == Engine && (InNamespace(t, Root + ".Prefect") || InNamespace(t, Root + ".Backlog") || IsType(t, Root + ".PrefectConnection"));

    /// <summary>The AWS client layer: Aws with its Protocol and Sdk parts.</summary>
    private static bool IsAwsLayer(Type t) => t.Assembly == Engine && InNamespace(t, Root + ".Aws");

    /// <summary>What sits on the AWS layer: metrics and scaling policies.</summary>
    private static bool IsAwsUser(Type t) =>
        t.Assembly == Engine && (InNamespace(t, Root + ".Metrics") || InNamespace(t, Root + ".Scaling"));

    private static bool IsAwsHalf(Type t) => IsAwsLayer(t) || IsAwsUser(t);

    /// <summary>The engine's Publisher namespace, where one cycle combines the halves (the Lambda's namespace has
    /// the same name, hence the assembly test).</summary>
    private static bool IsEnginePublisher(Type t) => t.Assembly == Engine && InNamespace(t, Root + ".Publisher");

    private static bool IsAmazon(Type t) => t.Namespace != null && InNamespace(t, "Amazon");

    /// <summary>Known exceptions: shared words of the two halves that still live in the Prefect half (the others, such
    /// as BacklogMeasure, live in the Model, which both halves use freely). None is left: a policy's exact names come
    /// from the binding's scope (Bindings). An exception that is no longer used fails
    /// <see cref="KnownExceptionsAreStillNeeded"/>, so the list only shrinks.</summary>
    private static readonly string[] SharedWords = Array.Empty<string>();

    private static bool InNamespace(Type t, string ns) => t.Namespace == ns || (t.Namespace?.StartsWith(ns + ".", StringComparison.Ordinal) ?? false);

    private static bool IsType(Type t, string fullName) => t.FullName == fullName || (t.DeclaringType != null && IsType(t.DeclaringType, fullName));

    private static void AssertNone(IEnumerable<(Type User, Type Used)> uses, string rule) =>
        AssertNone(uses.Select(u => (u.User.FullName!, u.Used.FullName!)), rule);

    private static void AssertNone(IEnumerable<(string User, string Used)> uses, string rule)
    {
        List<string> broken = uses.Select(u => u.User + " -> " + u.Used).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToList();
        Assert.True(broken.Count == 0, rule + " is broken by:" + Environment.NewLine + string.Join(Environment.NewLine, broken));
    }

    private static IEnumerable<string> ReferencedAssemblyNames(Assembly assembly) =>
        assembly.GetReferencedAssemblies().Select(a => a.Name!);

    private static IEnumerable<string> ReferencedAssemblyNames(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        MetadataReader md = pe.GetMetadataReader();
        return md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToList();
    }

    /// <summary>Namespaces of every TypeRef in the assembly's metadata: a type named anywhere, even through a
    /// forwarder or an attribute argument, appears here.</summary>
    private static IEnumerable<string> TypeReferenceNamespaces(Assembly assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly.Location));
        MetadataReader md = pe.GetMetadataReader();
        return md.TypeReferences.Select(h => md.GetString(md.GetTypeReference(h).Namespace)).Distinct().ToList();
    }

    [Fact]
    public void EngineNeverReferencesPowerShell()
    {
        Assert.DoesNotContain(ReferencedAssemblyNames(Engine), n => n.StartsWith("System.Management.Automation", StringComparison.Ordinal) || n.StartsWith("Microsoft.PowerShell", StringComparison.Ordinal));
        Assert.DoesNotContain(TypeReferenceNamespaces(Engine), ns => ns.StartsWith("System.Management.Automation", StringComparison.Ordinal));
    }

    [Fact]
    public void EngineNeverReferencesTheCmdlets()
    {
        Assert.DoesNotContain(Root, ReferencedAssemblyNames(Engine));
    }

    [Fact]
    public void LambdaNeverReferencesTheCmdletsOrPowerShell()
    {
        IEnumerable<string> names = ReferencedAssemblyNames(Lambda).ToList();
        Assert.Contains(Engine.GetName().Name!, names);
        Assert.DoesNotContain(Root, names);
        Assert.DoesNotContain(names, n => n.StartsWith("System.Management.Automation", StringComparison.Ordinal));
    }

    [Fact]
    public void CmdletsReferenceOnlyTheBclPowerShellTheEngineAndTheModel()
    {
        // Anything else would load in PowerShell's default context beside other modules' copies, or, if the engine
        // ships it in dependencies/, be a different assembly from the one the engine sees.
        string[] allowed = BaseClassLibrary.Concat(new[] { "System.Management.Automation", Engine.GetName().Name!, Model.GetName().Name! }).ToArray();
        List<string> referenced = ReferencedAssemblyNames(CmdletAssemblyPath).ToList();
        Assert.Contains(Model.GetName().Name!, referenced);
        Assert.True(referenced.All(allowed.Contains), "The cmdlet assembly references " + string.Join(", ", referenced.Except(allowed)) + "; it may reference only " + string.Join(", ", allowed) + ".");
    }

    [Fact]
    public void ModelReferencesOnlyTheBcl()
    {
        // The Model loads in PowerShell's default context, where nothing of the module's dependencies is.
        List<string> referenced = ReferencedAssemblyNames(Model).ToList();
        Assert.True(referenced.All(BaseClassLibrary.Contains), "The Model references " + string.Join(", ", referenced.Except(BaseClassLibrary)) + "; it may reference only the BCL.");
    }

    [Fact]
    public void CmdletsUseNoSystemTextJsonType()
    {
        // JSON is the engine's business: a JsonNode in a cmdlet is a request or an answer the engine should shape,
        // and on a runtime older than the engine's System.Text.Json it is not even the engine's type.
        // The same scan sees the engine's JSON, so an empty answer below is not a blind one.
        Assert.Contains(MetadataTypeUses.In(Engine.Location), u => u.User == "PrefectScaling.Scaling.EcsScalingState" && IsSystemTextJson(u.Used));
        AssertNone(MetadataTypeUses.In(CmdletAssemblyPath).Where(u => IsSystemTextJson(u.Used)),
            "The cmdlets use no System.Text.Json type (the engine's facades and the Model carry what they need)");
    }

    private static bool IsSystemTextJson(string typeName) => typeName == "System.Text.Json" || typeName.StartsWith("System.Text.Json.", StringComparison.Ordinal);

    [Fact]
    public void PrefectHalfUsesNothingOfAws()
    {
        AssertNone(TypeUses.In(Engine, IsPrefectHalf).Where(u => IsAwsHalf(u.Used) || IsEnginePublisher(u.Used) || IsAmazon(u.Used)),
            "The Prefect half (Prefect, Backlog, PrefectConnection) uses no type of Aws, Metrics, Scaling, Publisher or Amazon.*");
    }

    [Fact]
    public void AwsLayerUsesNothingOfPrefect()
    {
        AssertNone(TypeUses.In(Engine, IsAwsLayer).Where(u => IsPrefectHalf(u.Used) || IsAwsUser(u.Used) || IsEnginePublisher(u.Used)),
            "The AWS layer (Aws, Aws.Protocol, Aws.Sdk) uses no type of Prefect, Backlog, PrefectConnection, Metrics, Scaling or Publisher");
    }

    [Fact]
    public void MetricsAndScalingUseOnlyTheSharedWordsOfPrefect()
    {
        AssertNone(TypeUses.In(Engine, IsAwsUser).Where(u => (IsPrefectHalf(u.Used) && !SharedWords.Contains(u.Used.FullName)) || IsEnginePublisher(u.Used)),
            "Metrics and Scaling use no type of Prefect, Backlog or Publisher other than " + string.Join(", ", SharedWords));
    }

    [Fact]
    public void SharedRootUsesNeitherHalf()
    {
        // IEngineLog is what both halves log through; it must not pull either half into the other.
        bool IsSharedRoot(Type t) => t.Assembly == Engine && t.Namespace == Root && !IsType(t, Root + ".PrefectConnection");
        Assert.Contains(Engine.GetTypes(), IsSharedRoot);
        // The compiler's own attributes (NullableAttribute) are embedded in the engine: only PrefectScaling.* counts.
        AssertNone(TypeUses.In(Engine, IsSharedRoot).Where(u => u.Used.Assembly == Engine && InNamespace(u.Used, Root) && u.Used.Namespace != Root),
            "The engine's root namespace (IEngineLog) uses no other engine namespace");
    }

    [Fact]
    public void KnownExceptionsAreStillNeeded()
    {
        HashSet<string> used = TypeUses.In(Engine, IsAwsUser).Select(u => u.Used.FullName!).ToHashSet(StringComparer.Ordinal);
        foreach (string word in SharedWords) Assert.True(used.Contains(word), word + " is no longer used by Metrics or Scaling: remove it from the known exceptions here and in ARCHITECTURE.md.");
    }

    [Fact]
    public void EveryHalfHasTypes()
    {
        // A namespace renamed away would make every rule above pass over nothing.
        Type[] types = Engine.GetTypes();
        Assert.Contains(types, IsPrefectHalf);
        Assert.Contains(types, IsAwsLayer);
        Assert.Contains(types, t => IsAwsUser(t) && t.Namespace == Root + ".Metrics");
        Assert.Contains(types, t => IsAwsUser(t) && t.Namespace == Root + ".Scaling");
        Assert.Contains(types, IsEnginePublisher);
    }
}
