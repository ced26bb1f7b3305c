using System;
using System.Text;
using System.Text.RegularExpressions;

namespace PrefectScaling.Backlog
{
    /// <summary>A pool or queue name as a user typed it: an exact name, or a PowerShell-style wildcard
    /// (* ? [a-z], case-insensitive, ` escapes) that is resolved against the server's list.</summary>
    public sealed class NamePattern : IEquatable<NamePattern>
    {
        private readonly Regex? _regex;

        public NamePattern(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            // What the user typed, not a code parameter: no parameter name for the message to end with.
            if (text.Trim().Length == 0) throw new ArgumentException("A work pool or work queue name cannot be empty or blank.");
            Text = text;
            IsWildcard = HasWildcard(text);
            if (IsWildcard) _regex = new Regex(ToRegex(text), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
            else Exact = Unescape(text);
        }

        /// <summary>The pattern that matches exactly this name (its wildcard characters escaped with `).</summary>
        public static NamePattern ForExact(string name)
        {
            var sb = new StringBuilder(name.Length + 4);
            foreach (char c in name)
            {
                if (IsSpecial(c)) sb.Append('`');
                sb.Append(c);
            }
            return new NamePattern(sb.ToString());
        }

        /// <summary>What the user typed.</summary>
        public string Text { get; }

        public bool IsWildcard { get; }

        /// <summary>The literal name, when the pattern has no wildcard (escapes removed).</summary>
        public string? Exact { get; }

        public bool Matches(string name) => IsWildcard ? _regex!.IsMatch(name) : string.Equals(Exact, name, StringComparison.Ordinal);

        public override string ToString() => Text;
        public bool Equals(NamePattern? other) => other != null && string.Equals(Text, other.Text, StringComparison.Ordinal);
        public override bool Equals(object? obj) => Equals(obj as NamePattern);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

        private static bool HasWildcard(string text)
        {
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '`') { i++; continue; }
                if (text[i] == '*' || text[i] == '?' || text[i] == '[') return true;
            }
            return false;
        }

        private static string Unescape(string text)
        {
            var sb = new StringBuilder(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '`' && i + 1 < text.Length && IsSpecial(text[i + 1])) i++;
                sb.Append(text[i]);
            }
            return sb.ToString();
        }

        private static bool IsSpecial(char c) => c == '*' || c == '?' || c == '[' || c == ']' || c == '`';

        private static string ToRegex(string pattern)
        {
            var sb = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                if (c == '`' && i + 1 < pattern.Length) { sb.Append(Regex.Escape(pattern[++i].ToString())); continue; }
                if (c == '*') { sb.Append(".*"); continue; }
                if (c == '?') { sb.Append('.'); continue; }
                if (c == '[')
                {
                    int close = pattern.IndexOf(']', i + 1);
                    if (close > i + 1)
                    {
                        string set = pattern.Substring(i + 1, close - i - 1).Replace("\\", "\\\\").Replace("^", "\\^");
                        sb.Append('[').Append(set).Append(']');
                        i = close;
                        continue;
                    }
                }
                sb.Append(Regex.Escape(c.ToString()));
            }
            return sb.Append('$').ToString();
        }
    }
}
