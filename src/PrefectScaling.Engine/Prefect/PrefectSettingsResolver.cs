using System;
using System.Collections.Generic;
using System.IO;
using Tomlyn;
using Tomlyn.Model;

namespace PrefectScaling.Prefect
{
    /// <summary>What the caller said explicitly (cmdlet parameters, the publisher's configuration).</summary>
    public sealed class PrefectSettingsInput
    {
        public string? ApiUrl { get; set; }
        public string? ApiKey { get; set; }
        public string? AuthString { get; set; }
        public string ApiUrlSource { get; set; } = "parameter -PrefectApiUrl";
        public string ApiKeySource { get; set; } = "parameter -PrefectApiKey";
        public string AuthStringSource { get; set; } = "parameter -PrefectCredential";
    }

    /// <summary>Resolves the Prefect settings the way Prefect itself does, each setting on its own, first
    /// found wins: explicit input, then the environment, then the active profile of the profiles file.</summary>
    public static class PrefectSettingsResolver
    {
        public const string ApiUrlVariable = "PREFECT_API_URL";
        public const string ApiKeyVariable = "PREFECT_API_KEY";
        public const string AuthStringVariable = "PREFECT_API_AUTH_STRING";

        public static PrefectConnectionSettings Resolve(PrefectSettingsInput input, Func<string, string?> environment, string? homeDirectory)
        {
            var sources = new List<string>();
            ProfileReader? profile = null;
            ProfileReader Profile() => profile ??= ProfileReader.Open(environment, homeDirectory);

            string? Pick(string? explicitValue, string explicitSource, string variable)
            {
                if (!string.IsNullOrWhiteSpace(explicitValue)) { sources.Add(variable + " from " + explicitSource); return explicitValue; }
                string? fromEnvironment = environment(variable);
                if (!string.IsNullOrWhiteSpace(fromEnvironment)) { sources.Add(variable + " from environment variable " + variable); return fromEnvironment; }
                string? fromProfile = Profile().Get(variable);
                if (!string.IsNullOrWhiteSpace(fromProfile)) { sources.Add(variable + " from " + Profile().Description); return fromProfile; }
                return null;
            }

            string? url = Pick(input.ApiUrl, input.ApiUrlSource, ApiUrlVariable);
            if (url == null)
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                    "No Prefect API URL was found. Pass -PrefectApiUrl, set PREFECT_API_URL, or set PREFECT_API_URL in the active Prefect profile (" + Profile().Description + ").");
            string? apiKey = Pick(input.ApiKey, input.ApiKeySource, ApiKeyVariable);
            string? authString = Pick(input.AuthString, input.AuthStringSource, AuthStringVariable);
            Uri apiUrl = PrefectConnectionSettings.ValidateApiUrl(url);
            var settings = new PrefectConnectionSettings(apiUrl, apiKey, authString, sources);
            sources.Add("authentication: " + settings.AuthKind switch
            {
                PrefectAuthKind.BearerApiKey => "Authorization: Bearer <PREFECT_API_KEY>",
                PrefectAuthKind.BasicAuthString => "Authorization: Basic <PREFECT_API_AUTH_STRING>",
                _ => "none",
            });
            return settings;
        }

        /// <summary>Reads the active profile of Prefect's profiles.toml, lazily and once.</summary>
        private sealed class ProfileReader
        {
            private readonly TomlTable? _profile;

            private ProfileReader(string description, TomlTable? profile)
            {
                Description = description;
                _profile = profile;
            }

            public string Description { get; }

            public string? Get(string key) => _profile != null && _profile.TryGetValue(key, out object? value) ? value?.ToString() : null;

            public static ProfileReader Open(Func<string, string?> environment, string? homeDirectory)
            {
                string? path = environment("PREFECT_PROFILES_PATH");
                if (string.IsNullOrWhiteSpace(path))
                {
                    string? prefectHome = environment("PREFECT_HOME");
                    if (string.IsNullOrWhiteSpace(prefectHome))
                        prefectHome = string.IsNullOrEmpty(homeDirectory) ? null : Path.Combine(homeDirectory!, ".prefect");
                    if (prefectHome == null) return new ProfileReader("no Prefect profiles file (no home directory)", null);
                    path = Path.Combine(ExpandHome(prefectHome!, homeDirectory), "profiles.toml");
                }
                path = ExpandHome(path!, homeDirectory);
                if (!File.Exists(path)) return new ProfileReader("no Prefect profiles file at " + path, null);

                TomlTable document;
                try
                {
                    document = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path))!;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new PrefectApiException(PrefectErrorKind.InvalidSettings, 
                        // The parser's message can quote the offending line, which may hold a key: keep it out.
                        "The Prefect profiles file " + path + " is not valid TOML; fix its syntax or point PREFECT_PROFILES_PATH elsewhere.");
                }

                string? active = environment("PREFECT_PROFILE");
                string activeSource = "PREFECT_PROFILE";
                if (string.IsNullOrWhiteSpace(active))
                {
                    active = document.TryGetValue("active", out object? a) ? a?.ToString() : null;
                    activeSource = "the file's active key";
                }
                if (string.IsNullOrWhiteSpace(active)) return new ProfileReader("profiles file " + path + " (no active profile)", null);

                if (!document.TryGetValue("profiles", out object? profiles) || profiles is not TomlTable profileTable ||
                    !profileTable.TryGetValue(active!, out object? chosen) || chosen is not TomlTable chosenTable)
                {
                    throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                        "The active Prefect profile '" + active + "' (from " + activeSource + ") is not in " + path + ".");
                }
                return new ProfileReader("profile '" + active + "' in " + path, chosenTable);
            }

            private static string ExpandHome(string path, string? home) =>
                home != null && (path == "~" || path.StartsWith("~/", StringComparison.Ordinal)) ? Path.Combine(home, path.Substring(Math.Min(2, path.Length))) : path;
        }
    }
}
