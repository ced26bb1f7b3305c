using System.Management.Automation;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>A cmdlet about one installed publisher, named by -Name.</summary>
    public abstract class PublisherCmdlet : AwsCmdlet
    {
        /// <summary>The publisher's name: it names the function, the rule, the role and the parameter.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.PublisherNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = PublisherInstallSpec.DefaultName;
    }
}
