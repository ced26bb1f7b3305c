using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace PrefectScaling.Prefect
{
    public enum PrefectAuthKind { None, BearerApiKey, BasicAuthString }

    /// <summary>Where a Prefect server is and how to authenticate to it. The secret is held privately and
    /// only ever turned into an Authorization header; ToString and every property are safe to print.</summary>
    public sealed class PrefectConnectionSettings
    {
        private static readonly Regex CloudWorkspacePath = new Regex("accounts/.{36}/workspaces/.{36}", RegexOptions.CultureInvariant);
        private readonly string? _secret;

        public PrefectConnectionSettings(Uri apiUrl, string? apiKey, string? authString, IReadOnlyList<string>? sources = null)
        {
            ApiUrl = ValidateApiUrl(apiUrl.OriginalString);
            IsCloud = ApiUrl.Host.EndsWith("prefect.cloud", StringComparison.OrdinalIgnoreCase) || CloudWorkspacePath.IsMatch(ApiUrl.AbsolutePath);
            // Cloud only takes API keys; on a self-hosted 3.x server the auth string wins over a key, as the
            // official client does from 3.4.1.
            if (!IsCloud && !string.IsNullOrEmpty(authString)) { AuthKind = PrefectAuthKind.BasicAuthString; _secret = authString; }
            else if (!string.IsNullOrEmpty(apiKey)) { AuthKind = PrefectAuthKind.BearerApiKey; _secret = apiKey; }
            else AuthKind = PrefectAuthKind.None;
            Sources = sources ?? Array.Empty<string>();
        }

        public Uri ApiUrl { get; }
        public bool IsCloud { get; }
        public PrefectAuthKind AuthKind { get; }

        /// <summary>One line per setting saying where it came from (never its secret value).</summary>
        public IReadOnlyList<string> Sources { get; }

        /// <summary>Identifies the connection without revealing the secret: the URL, the auth kind and a hash.</summary>
        internal string CacheKey => ApiUrl.AbsoluteUri + "|" + AuthKind + "|" + (_secret == null ? string.Empty : Hashing.Sha256Hex(_secret));

        /// <summary>The secret itself, for the one place that stores it (the publisher's SSM SecureString parameter).</summary>
        internal string? Secret => _secret;

        internal string? AuthorizationHeaderValue => AuthKind switch
        {
            PrefectAuthKind.BearerApiKey => "Bearer " + _secret,
            PrefectAuthKind.BasicAuthString => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(_secret!)),
            _ => null,
        };

        /// <summary>A printable form of a URL: without user info, which could hold a password.</summary>
        public static string Printable(Uri url) =>
            string.IsNullOrEmpty(url.UserInfo) ? url.AbsoluteUri.TrimEnd('/') : url.AbsoluteUri.Replace(url.UserInfo + "@", string.Empty).TrimEnd('/');

        /// <summary>A URL as it was given (valid or not), fit to print as an error's target: whatever stands before
        /// an '@' after the scheme (user info, which can hold a password) and any query or fragment are dropped.</summary>
        public static string PrintableText(string? text)
        {
            string value = (text ?? string.Empty).Trim();
            int start = value.IndexOf("://", StringComparison.Ordinal);
            start = start < 0 ? 0 : start + 3;
            int at = value.LastIndexOf('@');
            if (at >= start) value = value.Substring(0, start) + value.Substring(at + 1);
            int cut = value.IndexOfAny(new[] { '?', '#' });
            return (cut < 0 ? value : value.Substring(0, cut)).TrimEnd('/');
        }

        /// <summary>Removes the secret from text that came from elsewhere (a server's error body, say).</summary>
        public string Redact(string text)
        {
            if (string.IsNullOrEmpty(_secret) || string.IsNullOrEmpty(text)) return text;
            text = text.Replace(_secret, "***");
            string? header = AuthorizationHeaderValue;
            if (header != null) text = text.Replace(header.Substring(header.IndexOf(' ') + 1), "***");
            return text;
        }

        public override string ToString() => Printable(ApiUrl) + " (" + AuthKind + ")";

        /// <summary>Checks an API URL before anything is sent to it.</summary>
        public static Uri ValidateApiUrl(string? value)
        {
            string text = (value ?? string.Empty).Trim();
            if (text.Length == 0)
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings, "The Prefect API URL is empty. Pass -PrefectApiUrl, set PREFECT_API_URL, or set it in the active Prefect profile.");
            // Checked on the text, before parsing: a password with '/' or '#' in it would otherwise parse as a
            // host and path, and be sent, and printed. No Prefect API URL has an '@'.
            if (text.IndexOf('@') >= 0)
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                    "The Prefect API URL carries user information (user:password@host); it is not shown here and not used. Pass credentials with -PrefectCredential or PREFECT_API_AUTH_STRING instead.");
            if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                    "The Prefect API URL is not an absolute http(s) URL. Expected something like http://127.0.0.1:4200/api or https://api.prefect.cloud/api/accounts/<id>/workspaces/<id>.");
            if (!string.IsNullOrEmpty(uri.UserInfo))
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings,
                    "The Prefect API URL carries user information; it is not shown here and not used. Pass credentials with -PrefectCredential or PREFECT_API_AUTH_STRING instead.");
            if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                throw new PrefectApiException(PrefectErrorKind.InvalidSettings, "The Prefect API URL must not have a query string or fragment: " + uri.GetLeftPart(UriPartial.Path));
            // Paths are appended to the base, so keep exactly one form: no trailing slash.
            return new Uri(uri.AbsoluteUri.TrimEnd('/'), UriKind.Absolute);
        }
    }

    internal static class Hashing
    {
        internal static string Sha256Hex(string value)
        {
            using var sha = System.Security.Cryptography.SHA256.Create();
            byte[] hash = sha.ComputeHash(Encoding.UTF8.GetBytes(value));
            var sb = new StringBuilder(hash.Length * 2);
            foreach (byte b in hash) sb.Append(b.ToString("x2"));
            return sb.ToString();
        }
    }
}
