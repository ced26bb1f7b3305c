using System;
using System.Text.RegularExpressions;

namespace PrefectScaling.Publisher
{
    /// <summary>EventBridge schedule expressions, checked here because some endpoints accept what AWS rejects
    /// (rate(1 minutes)). The finest schedule is one minute.</summary>
    public static class ScheduleExpression
    {
        private static readonly Regex Rate = new Regex(@"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$", RegexOptions.CultureInvariant);
        private static readonly Regex Cron = new Regex(@"^cron\(([^()]+)\)$", RegexOptions.CultureInvariant);
        private static readonly Regex CronField = new Regex(@"^[0-9A-Za-z\*\?,/\-#LW]+$", RegexOptions.CultureInvariant);

        public static void Validate(string? expression)
        {
            string text = (expression ?? string.Empty).Trim();
            Match rate = Rate.Match(text);
            if (rate.Success)
            {
                if (!int.TryParse(rate.Groups[1].Value, out int value) || value < 1)
                    throw new ArgumentException("The schedule '" + text + "' needs a value of 1 or more.");
                bool singular = !rate.Groups[2].Value.EndsWith("s", StringComparison.Ordinal);
                if (value == 1 && !singular)
                    throw new ArgumentException("The schedule '" + text + "' must use the singular unit for 1, such as rate(1 minute).");
                if (value > 1 && singular)
                    throw new ArgumentException("The schedule '" + text + "' must use the plural unit for " + value + ", such as rate(" + value + " minutes).");
                return;
            }
            Match cron = Cron.Match(text);
            if (cron.Success)
            {
                string[] fields = cron.Groups[1].Value.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length != 6)
                    throw new ArgumentException("The schedule '" + text + "' needs six cron fields: minutes hours day-of-month month day-of-week year.");
                foreach (string field in fields)
                    if (!CronField.IsMatch(field)) throw new ArgumentException("The cron field '" + field + "' of '" + text + "' is not valid.");
                if ((fields[2] == "?") == (fields[4] == "?"))
                    throw new ArgumentException("In '" + text + "' exactly one of day-of-month and day-of-week must be '?'.");
                return;
            }
            throw new ArgumentException("The schedule '" + text + "' is not an EventBridge schedule expression: use rate(1 minute), rate(5 minutes) or cron(...). The finest schedule is one minute.");
        }
    }
}
