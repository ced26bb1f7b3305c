using System;
using System.Collections.Generic;
using System.Globalization;

namespace PrefectScaling.Simulation
{
    /// <summary>Evaluates the CloudWatch metric-math forms the module writes (IF, CEIL, FLOOR, ABS, comparisons, AND, OR, NOT,
    /// arithmetic, query ids, numbers) for one period's values. True is 1 and false 0, as CloudWatch's IF and
    /// comparison functions return ("Metric math syntax and functions"). A missing input makes the result missing.</summary>
    public sealed class MetricMath
    {
        private readonly string _text;
        private int _at;

        private MetricMath(string text) => _text = text;

        /// <summary>The value of <paramref name="expression"/>, or null when an id it reads has no value (or a
        /// division by zero that the expression did not guard).</summary>
        public static double? Evaluate(string expression, IReadOnlyDictionary<string, double?> values)
        {
            var parser = new MetricMath(expression);
            Func<IReadOnlyDictionary<string, double?>, double?> node = parser.Or();
            parser.SkipSpace();
            if (parser._at < parser._text.Length) throw parser.Error("unexpected '" + parser._text.Substring(parser._at) + "'");
            double? value = node(values);
            return value is double v && (double.IsNaN(v) || double.IsInfinity(v)) ? null : value;
        }


        private Func<IReadOnlyDictionary<string, double?>, double?> Or()
        {
            var left = And();
            while (Keyword("OR")) { var l = left; var r = And(); left = v => Both(l(v), r(v), (a, b) => a != 0 || b != 0 ? 1 : 0); }
            return left;
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> And()
        {
            var left = Comparison();
            while (Keyword("AND")) { var l = left; var r = Comparison(); left = v => Both(l(v), r(v), (a, b) => a != 0 && b != 0 ? 1 : 0); }
            return left;
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> Comparison()
        {
            var left = Sum();
            foreach (string op in new[] { "==", "!=", "<=", ">=", "<", ">" })
            {
                if (!Symbol(op)) continue;
                var l = left; var r = Sum();
                Func<double, double, bool> test = op switch
                {
                    "==" => (a, b) => a == b, "!=" => (a, b) => a != b, "<=" => (a, b) => a <= b,
                    ">=" => (a, b) => a >= b, "<" => (a, b) => a < b, _ => (a, b) => a > b,
                };
                return v => Both(l(v), r(v), (a, b) => test(a, b) ? 1 : 0);
            }
            return left;
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> Sum()
        {
            var left = Product();
            while (true)
            {
                var l = left;
                if (Symbol("+")) { var r = Product(); left = v => Both(l(v), r(v), (a, b) => a + b); }
                else if (Symbol("-")) { var r = Product(); left = v => Both(l(v), r(v), (a, b) => a - b); }
                else return left;
            }
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> Product()
        {
            var left = Unary();
            while (true)
            {
                var l = left;
                if (Symbol("*")) { var r = Unary(); left = v => Both(l(v), r(v), (a, b) => a * b); }
                else if (Symbol("/")) { var r = Unary(); left = v => Both(l(v), r(v), (a, b) => a / b); }
                else return left;
            }
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> Unary()
        {
            if (Symbol("-")) { var inner = Unary(); return v => -inner(v); }
            if (Keyword("NOT")) { var inner = Unary(); return v => inner(v) is double x ? (x == 0 ? 1 : 0) : (double?)null; }
            return Primary();
        }

        private Func<IReadOnlyDictionary<string, double?>, double?> Primary()
        {
            SkipSpace();
            if (Symbol("(")) { var inner = Or(); Expect(")"); return inner; }
            if (_at < _text.Length && (char.IsDigit(_text[_at]) || _text[_at] == '.'))
            {
                int start = _at;
                while (_at < _text.Length && (char.IsDigit(_text[_at]) || _text[_at] == '.' || _text[_at] == 'e' || _text[_at] == 'E')) _at++;
                double number = double.Parse(_text.Substring(start, _at - start), NumberStyles.Float, CultureInfo.InvariantCulture);
                return _ => number;
            }
            if (_at < _text.Length && (char.IsLetter(_text[_at]) || _text[_at] == '_'))
            {
                int start = _at;
                while (_at < _text.Length && (char.IsLetterOrDigit(_text[_at]) || _text[_at] == '_')) _at++;
                string name = _text.Substring(start, _at - start);
                if (string.Equals(name, "IF", StringComparison.OrdinalIgnoreCase) && Symbol("("))
                {
                    var condition = Or(); Expect(",");
                    var whenTrue = Or(); Expect(",");
                    var whenFalse = Or(); Expect(")");
                    // Only the branch taken is evaluated, so IF(tasks > 0, backlog / tasks, backlog) never divides by zero.
                    return v => condition(v) is double c ? (c != 0 ? whenTrue(v) : whenFalse(v)) : null;
                }
                if (Functions.TryGetValue(name, out Func<double, double>? function) && Symbol("("))
                {
                    var argument = Or(); Expect(")");
                    return v => argument(v) is double x ? function(x) : (double?)null;
                }
                return v => v.TryGetValue(name, out double? value) ? value : throw new ArgumentException("The metric math expression '" + _text + "' reads '" + name + "', which is no query of the policy.");
            }
            throw Error("expected a number, a query id or '('");
        }

        /// <summary>The one-argument functions of a period's value the module writes (CEIL in the busy guard).</summary>
        private static readonly Dictionary<string, Func<double, double>> Functions = new Dictionary<string, Func<double, double>>(StringComparer.OrdinalIgnoreCase)
        {
            ["CEIL"] = Math.Ceiling,
            ["FLOOR"] = Math.Floor,
            ["ABS"] = Math.Abs,
        };

        private static double? Both(double? a, double? b, Func<double, double, double> f) => a is double x && b is double y ? f(x, y) : (double?)null;

        private void SkipSpace() { while (_at < _text.Length && char.IsWhiteSpace(_text[_at])) _at++; }

        private bool Symbol(string symbol)
        {
            SkipSpace();
            if (string.CompareOrdinal(_text, _at, symbol, 0, symbol.Length) != 0) return false;
            // "<" must not take the first half of "<=".
            if (symbol.Length == 1 && (symbol == "<" || symbol == ">") && _at + 1 < _text.Length && _text[_at + 1] == '=') return false;
            _at += symbol.Length;
            return true;
        }

        private bool Keyword(string word)
        {
            SkipSpace();
            if (_at + word.Length > _text.Length || string.Compare(_text, _at, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) != 0) return false;
            if (_at + word.Length < _text.Length && (char.IsLetterOrDigit(_text[_at + word.Length]) || _text[_at + word.Length] == '_')) return false;
            _at += word.Length;
            return true;
        }

        private void Expect(string symbol) { if (!Symbol(symbol)) throw Error("expected '" + symbol + "'"); }

        private ArgumentException Error(string what) => new ArgumentException("Cannot read the metric math expression '" + _text + "' at " + (_at + 1) + ": " + what + ".");
    }
}
