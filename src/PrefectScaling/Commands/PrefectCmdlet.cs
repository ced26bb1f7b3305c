using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>A cmdlet that talks to Prefect: the connection parameters, named as Prefect names the settings.
    /// Install-PrefectBacklogPublisher, an AWS cmdlet, declares the same three: tests/pester/module/ParameterConsistency
    /// holds the two declarations to the same metadata.</summary>
    public abstract class PrefectCmdlet : EngineCmdlet
    {
        /// <summary>The Prefect API URL; else PREFECT_API_URL; else the active Prefect profile.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("ApiUrl")]
        [ValidateNotNullOrEmpty]
        public string? PrefectApiUrl { get; set; }

        /// <summary>A Prefect Cloud API key (sent as a bearer token); else PREFECT_API_KEY; else the profile.</summary>
        [Parameter]
        public SecureString? PrefectApiKey { get; set; }

        /// <summary>Basic-auth credentials of a self-hosted Prefect 3 server; else PREFECT_API_AUTH_STRING; else the profile.</summary>
        [Parameter]
        [Credential]
        public PSCredential? PrefectCredential { get; set; }

        /// <summary>Resolves the settings for a URL (null: none given) and returns the process-wide connection for them.</summary>
        internal PrefectConnection Connect(string? apiUrl) => PrefectConnection.For(ResolvePrefectSettings(this, apiUrl, PrefectApiKey, PrefectCredential));

        /// <summary>Parameters, then the environment, then the active Prefect profile; says where each came from.</summary>
        internal static PrefectConnectionSettings ResolvePrefectSettings(Cmdlet cmdlet, string? apiUrl, SecureString? apiKey, PSCredential? credential)
        {
            var input = new PrefectSettingsInput
            {
                ApiUrl = apiUrl,
                ApiKey = Plain(apiKey),
                AuthString = credential == null ? null : credential.UserName + ":" + Plain(credential.Password),
            };
            PrefectConnectionSettings settings = PrefectSettingsResolver.Resolve(input, Environment.GetEnvironmentVariable, HomeDirectory());
            foreach (string source in settings.Sources) cmdlet.WriteDebug("Prefect setting: " + source);
            return settings;
        }

        internal static string? HomeDirectory()
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home) ? Environment.GetEnvironmentVariable("HOME") : home;
        }

        private static string? Plain(SecureString? secure)
        {
            if (secure == null || secure.Length == 0) return null;
            IntPtr pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try { return Marshal.PtrToStringUni(pointer); }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(pointer); }
        }
    }
}
