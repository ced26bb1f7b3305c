using System.Management.Automation;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Reports what is installed of a publisher and whether its parts fit together, with its bindings and when
    /// each last published.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectBacklogPublisher")]
    [OutputType(typeof(PrefectBacklogPublisher))]
    public sealed class GetPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        protected override void ProcessRecord() => Guard(Name, () =>
        {
            var installer = new PublisherInstaller(Aws);
            WriteObject(RunEngine((log, ct) => installer.DescribeAsync(Name, log, ct)));
        });
    }
}
