using System.Management.Automation;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Reports what is installed of a publisher and whether its parts fit together.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectBacklogPublisher")]
    [OutputType(typeof(PrefectBacklogPublisher))]
    public sealed class GetPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        protected override void ProcessRecord() => Guard(Name, () =>
        {
            var installer = new PublisherInstaller(Aws);
            WriteObject(PrefectBacklogPublisher.From(RunEngine((log, ct) => installer.ReadAsync(Name, withSecretHash: false, log, ct))));
        });
    }
}
