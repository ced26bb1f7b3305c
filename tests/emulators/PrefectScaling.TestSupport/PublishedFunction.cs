using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;

namespace PrefectScaling.TestSupport;

/// <summary>A Lambda handler loaded from a `dotnet publish` folder as the managed runtime loads it: the handler's
/// assembly in its own load context, its dependencies resolved from its .deps.json (AssemblyDependencyResolver),
/// the type created through its public parameterless constructor, the method called with a Stream.</summary>
public sealed class PublishedFunction : IDisposable
{
    public const string PublisherHandler = "PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle";

    private readonly HandlerLoadContext _context;
    private readonly object _instance;
    private readonly MethodInfo _method;

    private PublishedFunction(HandlerLoadContext context, Assembly assembly, object instance, MethodInfo method)
    {
        _context = context;
        Assembly = assembly;
        _instance = instance;
        _method = method;
    }

    public Assembly Assembly { get; }

    /// <summary>The assemblies the handler's context has loaded (its own copies, not the host's).</summary>
    public IReadOnlyList<Assembly> LoadedAssemblies => _context.Assemblies.ToList();

    /// <summary>Loads <paramref name="handler"/> ("Assembly::Namespace.Type::Method") from <paramref name="folder"/>.</summary>
    public static PublishedFunction Load(string folder, string handler = PublisherHandler)
    {
        string[] parts = handler.Split("::");
        if (parts.Length != 3) throw new ArgumentException("A handler is Assembly::Namespace.Type::Method, not '" + handler + "'.");
        string path = Path.Combine(Path.GetFullPath(folder), parts[0] + ".dll");
        if (!File.Exists(path)) throw new FileNotFoundException("The published folder has no " + parts[0] + ".dll.", path);
        if (!File.Exists(Path.ChangeExtension(path, ".deps.json"))) throw new FileNotFoundException("The published folder has no " + parts[0] + ".deps.json.");
        if (!File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json"))) throw new FileNotFoundException("The published folder has no " + parts[0] + ".runtimeconfig.json.");

        var context = new HandlerLoadContext(path);
        try
        {
            Assembly assembly = context.LoadFromAssemblyPath(path);
            Type type = assembly.GetType(parts[1], throwOnError: true)!;
            object instance = Activator.CreateInstance(type)!;
            MethodInfo method = type.GetMethod(parts[2], BindingFlags.Public | BindingFlags.Instance, new[] { typeof(Stream) })
                ?? throw new MissingMethodException(parts[1], parts[2] + "(Stream)");
            return new PublishedFunction(context, assembly, instance, method);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            context.Unload();
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        catch
        {
            context.Unload();
            throw;
        }
    }

    /// <summary>Calls the handler; an exception it throws comes out unwrapped.</summary>
    public Stream Invoke(Stream input)
    {
        try
        {
            return (Stream)_method.Invoke(_instance, new object[] { input })!;
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>Calls the handler with a scheduled EventBridge event and reads its answer as text.</summary>
    public string InvokeWithScheduledEvent()
    {
        using var input = ScheduledEvent();
        using Stream output = Invoke(input);
        using var reader = new StreamReader(output);
        return reader.ReadToEnd();
    }

    /// <summary>The body EventBridge sends for a schedule rule.</summary>
    public static MemoryStream ScheduledEvent() => new(System.Text.Encoding.UTF8.GetBytes(
        "{\"version\":\"0\",\"id\":\"" + Guid.NewGuid() + "\",\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\"," +
        "\"account\":\"123456789012\",\"time\":\"" + DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ") + "\",\"region\":\"eu-west-1\"," +
        "\"resources\":[\"arn:aws:events:eu-west-1:123456789012:rule/prefect-backlog\"],\"detail\":{}}"));

    public void Dispose() => _context.Unload();

    private sealed class HandlerLoadContext : AssemblyLoadContext
    {
        private readonly AssemblyDependencyResolver _resolver;

        public HandlerLoadContext(string mainAssemblyPath)
            : base("lambda-handler:" + Path.GetFileName(mainAssemblyPath), isCollectible: true)
        {
            _resolver = new AssemblyDependencyResolver(mainAssemblyPath);
        }

        // Assemblies listed in the handler's .deps.json load from its folder; the rest (the shared framework) from the host.
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            string? path = _resolver.ResolveAssemblyToPath(assemblyName);
            return path == null ? null : LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            string? path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return path == null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }
    }
}
