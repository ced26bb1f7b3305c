using System.Diagnostics;

namespace PrefectScaling.TestSupport;

/// <summary>Where the publisher's `dotnet publish` output is: PREFECTSCALING_PUBLISHER_DIR (the build script publishes
/// there before the tests run) or, when that is unset, a temporary folder this process publishes into once.</summary>
public static class PublisherBuild
{
    public const string FolderVariable = "PREFECTSCALING_PUBLISHER_DIR";
    public const string ProjectRelativePath = "src/PrefectScaling.Publisher/PrefectScaling.Publisher.csproj";

    private static readonly Lazy<string> Published = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string PublishedFolder => Published.Value;

    private static string Locate()
    {
        string? given = Environment.GetEnvironmentVariable(FolderVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            string full = Path.GetFullPath(given);
            if (!File.Exists(Path.Combine(full, "PrefectScaling.Publisher.dll")))
                throw new InvalidOperationException(FolderVariable + " points at " + full + ", which holds no PrefectScaling.Publisher.dll.");
            return full;
        }
        string output = Path.Combine(Path.GetTempPath(), "prefectscaling-publisher-" + Guid.NewGuid().ToString("N"));
        Publish(FindProject(), output);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(output, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } };
        return output;
    }

    /// <summary>The publisher project, found by walking up from this assembly's folder.</summary>
    public static string FindProject()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder != null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, ProjectRelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("Could not find " + ProjectRelativePath + " above " + AppContext.BaseDirectory + "; set " + FolderVariable + ".");
    }

    /// <summary>dotnet publish -c Release -o <paramref name="output"/>, as the build script does.</summary>
    public static void Publish(string project, string output)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "publish", project, "-c", "Release", "-o", output, "--nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false" })
            start.ArgumentList.Add(argument);
        // A test host may carry MSBuild variables of the build that launched it.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "MSBuildExtensionsPath" || k == "MSBuildSDKsPath").ToList())
            start.Environment.Remove(name);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("dotnet publish did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet publish of " + project + " took more than 5 minutes.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException("dotnet publish of " + project + " failed (" + process.ExitCode + "):\n" + stdout.Result + stderr.Result);
    }
}
