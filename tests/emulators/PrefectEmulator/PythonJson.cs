namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>Where and why Python's json module (which parses request bodies on a real server) rejects a text:
/// the message and character position that end up in the server's 422 body. Follows CPython's
/// json.decoder/scanner in strict mode, for texts System.Text.Json has already refused.</summary>
internal static class PythonJson
{
    public sealed record Failure(string Message, int Position);

    public static Failure? Check(string doc)
    {
        var scanner = new Scanner(doc);
        try
        {
            int end = scanner.Value(SkipWhitespace(doc, 0));
            end = SkipWhitespace(doc, end);
            if (end != doc.Length) return new Failure("Extra data", end);
            return null;
        }
        catch (Rejected e)
        {
            return e.Failure;
        }
    }

    public static (int Line, int Column) LineAndColumn(string doc, int pos)
    {
        int line = 1, lastNewline = -1;
        for (int i = 0; i < pos && i < doc.Length; i++)
        {
            if (doc[i] != '\n') continue;
            line++;
            lastNewline = i;
        }
        return (line, pos - lastNewline);
    }

    private sealed class Rejected : Exception
    {
        public Rejected(string message, int pos) : base(message) { Failure = new Failure(message, pos); }
        public Failure Failure { get; }
    }

    private static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r') i++;
        return i;
    }

    private sealed class Scanner
    {
        private readonly string _s;
        public Scanner(string s) { _s = s; }

        /// <summary>Scans one value starting exactly at i; returns the index after it.</summary>
        public int Value(int i)
        {
            if (i >= _s.Length) throw new Rejected("Expecting value", i);
            char c = _s[i];
            switch (c)
            {
                case '"': return String(i + 1, i);
                case '{': return Object(i + 1);
                case '[': return Array(i + 1);
            }
            foreach (string literal in new[] { "null", "true", "false", "NaN", "Infinity", "-Infinity" })
                if (string.CompareOrdinal(_s, i, literal, 0, literal.Length) == 0) return i + literal.Length;
            int n = Number(i);
            if (n > i) return n;
            throw new Rejected("Expecting value", i);
        }

        // -?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?
        private int Number(int i)
        {
            int j = i;
            if (j < _s.Length && _s[j] == '-') j++;
            if (j < _s.Length && _s[j] == '0') j++;
            else if (j < _s.Length && _s[j] is >= '1' and <= '9') { while (j < _s.Length && char.IsAsciiDigit(_s[j])) j++; }
            else return i;
            if (j + 1 < _s.Length && _s[j] == '.' && char.IsAsciiDigit(_s[j + 1])) { j += 2; while (j < _s.Length && char.IsAsciiDigit(_s[j])) j++; }
            if (j < _s.Length && _s[j] is 'e' or 'E')
            {
                int k = j + 1;
                if (k < _s.Length && _s[k] is '+' or '-') k++;
                if (k < _s.Length && char.IsAsciiDigit(_s[k])) { while (k < _s.Length && char.IsAsciiDigit(_s[k])) k++; j = k; }
            }
            return j;
        }

        private int String(int i, int start)
        {
            while (true)
            {
                if (i >= _s.Length) throw new Rejected("Unterminated string starting at", start);
                char c = _s[i];
                if (c == '"') return i + 1;
                if (c < ' ') throw new Rejected("Invalid control character at", i);
                if (c != '\\') { i++; continue; }
                if (i + 1 >= _s.Length) throw new Rejected("Unterminated string starting at", start);
                char e = _s[i + 1];
                if (e == 'u')
                {
                    if (i + 6 > _s.Length || !_s.Substring(i + 2, 4).All(char.IsAsciiHexDigit)) throw new Rejected("Invalid \\uXXXX escape", i + 1);
                    i += 6;
                }
                else if (e is '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')
                {
                    i += 2;
                }
                else
                {
                    throw new Rejected("Invalid \\escape", i);
                }
            }
        }

        private int Object(int i)
        {
            i = SkipWhitespace(_s, i);
            if (i < _s.Length && _s[i] == '}') return i + 1;
            while (true)
            {
                if (i >= _s.Length || _s[i] != '"') throw new Rejected("Expecting property name enclosed in double quotes", i);
                i = String(i + 1, i);
                i = SkipWhitespace(_s, i);
                if (i >= _s.Length || _s[i] != ':') throw new Rejected("Expecting ':' delimiter", i);
                i = SkipWhitespace(_s, i + 1);
                i = SkipWhitespace(_s, Value(i));
                if (i < _s.Length && _s[i] == '}') return i + 1;
                if (i >= _s.Length || _s[i] != ',') throw new Rejected("Expecting ',' delimiter", i);
                i = SkipWhitespace(_s, i + 1);
            }
        }

        private int Array(int i)
        {
            i = SkipWhitespace(_s, i);
            if (i < _s.Length && _s[i] == ']') return i + 1;
            while (true)
            {
                i = SkipWhitespace(_s, Value(i));
                if (i < _s.Length && _s[i] == ']') return i + 1;
                if (i >= _s.Length || _s[i] != ',') throw new Rejected("Expecting ',' delimiter", i);
                i = SkipWhitespace(_s, i + 1);
            }
        }
    }
}
