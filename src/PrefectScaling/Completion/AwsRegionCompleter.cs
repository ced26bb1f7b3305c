using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using PrefectScaling.Aws;

namespace PrefectScaling.Completion
{
    /// <summary>Completes -Region from the regions the AWS SDK knows, with their display names.</summary>
    public sealed class AwsRegionCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
            try
            {
                return AwsRegions.All()
                    .Where(r => r.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                    .Select(r => new CompletionResult(r.Name, r.Name, CompletionResultType.ParameterValue, r.DisplayName))
                    .ToList();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }
    }
}
