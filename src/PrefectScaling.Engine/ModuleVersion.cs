using System.Reflection;

namespace PrefectScaling
{
    /// <summary>The module's version as the User-Agent of every Prefect and AWS call carries it: the assembly's
    /// informational version (from Version in Directory.Build.props) without its +commit suffix.</summary>
    internal static class ModuleVersion
    {
        public static readonly string Text =
            typeof(ModuleVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";
    }
}
