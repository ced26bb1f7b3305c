using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PrefectScaling
{
    /// <summary>Loads the engine and every dependency it ships from dependencies/ into a private load context,
    /// so another module's copy of AWSSDK.Core, Tomlyn or System.Text.Json never clashes with ours. The Model, which
    /// has no dependencies, stays in the default context beside the cmdlets.</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        public void OnImport() => AssemblyLoadContext.Default.Resolving += DependencyLoadContext.ResolveFromDefault;
        public void OnRemove(PSModuleInfo module) => AssemblyLoadContext.Default.Resolving -= DependencyLoadContext.ResolveFromDefault;
    }

    internal sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private static readonly string DependencyFolder = Path.Combine(
            Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location)!, "dependencies");
        private static readonly DependencyLoadContext Instance = new DependencyLoadContext();
        private static readonly string EngineName = "PrefectScaling.Engine";

        /// <summary>The Model as the default context loaded it (from the module root, as the manifest's RequiredAssemblies).</summary>
        private static readonly Assembly Model = typeof(Backlog.PrefectBacklogCount).Assembly;

        private DependencyLoadContext() { }

        internal static Assembly? ResolveFromDefault(AssemblyLoadContext context, AssemblyName name) =>
            // Only the engine is handed over from the default context; its own references then resolve here.
            string.Equals(name.Name, EngineName, StringComparison.Ordinal) ? Instance.LoadFromAssemblyName(name) : null;

        protected override Assembly? Load(AssemblyName name)
        {
            // The one assembly both sides share: the engine gets the default context's copy, so the counts, records
            // and exceptions it makes are the very types the cmdlets and scripts name.
            if (string.Equals(name.Name, Model.GetName().Name, StringComparison.Ordinal)) return Model;
            // What the running PowerShell already provides at the same or a newer version is shared;
            // returning null hands it to the default context.
            if (PlatformProvides(name)) return null;
            string path = Path.Combine(DependencyFolder, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }

        private static readonly Lazy<ILookup<string, string>> PlatformAssemblies = new Lazy<ILookup<string, string>>(() =>
            (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty)
                .Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries)
                .ToLookup(p => Path.GetFileNameWithoutExtension(p), StringComparer.OrdinalIgnoreCase));

        private static bool PlatformProvides(AssemblyName name)
        {
            foreach (string path in PlatformAssemblies.Value[name.Name ?? string.Empty])
            {
                Version? available = AssemblyName.GetAssemblyName(path).Version;
                if (available != null && (name.Version == null || available >= name.Version)) return true;
            }
            return false;
        }
    }
}
