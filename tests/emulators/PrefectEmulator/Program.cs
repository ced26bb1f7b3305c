using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>dotnet PrefectEmulator.dll [--mode v3|v2|v2legacy|cloud] [--seed file.json] [--port N] [--parent-pid PID]
/// Secrets only from PREFECT_EMULATOR_AUTH_STRING / PREFECT_EMULATOR_API_KEY.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = new EmulatorOptions();
        EmulatorSeed? seed = null;
        int? parentPid = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--mode":
                        options.Mode = Next().ToLowerInvariant() switch
                        {
                            "v3" => EmulatorMode.V3,
                            "v2" => EmulatorMode.V2,
                            "v2legacy" => EmulatorMode.V2Legacy,
                            "cloud" => EmulatorMode.Cloud,
                            var m => throw new ArgumentException($"Unknown mode '{m}'."),
                        };
                        break;
                    case "--seed":
                        seed = EmulatorSeed.Load(Next());
                        break;
                    case "--port":
                        options.Port = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case "--parent-pid":
                        parentPid = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case "--default-limit":
                        options.DefaultLimit = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    default:
                        throw new ArgumentException($"Unknown argument '{args[i]}'.");
                }
            }
            var auth = Environment.GetEnvironmentVariable("PREFECT_EMULATOR_AUTH_STRING");
            var key = Environment.GetEnvironmentVariable("PREFECT_EMULATOR_API_KEY");
            options.AuthString = string.IsNullOrEmpty(auth) ? null : auth;
            options.ApiKey = string.IsNullOrEmpty(key) ? null : key;
            if (options.Mode == EmulatorMode.Cloud && options.ApiKey is null)
                throw new ArgumentException("--mode cloud needs the API key in PREFECT_EMULATOR_API_KEY.");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"PrefectEmulator: {e.Message}");
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        PosixSignalRegistration? sigterm = null;
        try { sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); }); }
        catch (PlatformNotSupportedException) { }
        using var sigtermRegistration = sigterm;

        PrefectEmulatorServer server;
        try
        {
            server = await PrefectEmulatorServer.StartAsync(options, seed, logToStderr: true, stop.Token);
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
        {
            Console.Error.WriteLine($"PrefectEmulator: {e.Message}");
            return 1;
        }

        await using (server)
        {
            Console.Out.WriteLine($"PrefectEmulator listening on {server.ApiUrl.ToString().TrimEnd('/')}");
            Console.Out.Flush();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                    if (parentPid is int pid && !IsAlive(pid)) break;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
        return 0;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
