using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Reports what is installed of a publisher and whether its parts fit together.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectBacklogPublisher")]
    [OutputType(typeof(PrefectBacklogPublisher))]
    public sealed class GetPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        protected override void ProcessRecord()
        {
            try
            {
                var installer = new PublisherInstaller(ConnectAws());
                WriteObject(PrefectBacklogPublisher.From(RunEngine((log, ct) => installer.ReadAsync(Name, withSecretHash: false, log, ct))));
            }
            catch (AwsApiException e)
            {
                WriteError(ErrorRecords.From(e, Name));
            }
        }
    }
}
