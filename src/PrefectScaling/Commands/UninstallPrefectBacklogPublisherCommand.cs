using System.Collections.Generic;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Removes everything Install-PrefectBacklogPublisher created (a half-finished install too), and lists
    /// what it removed; what has the publisher's names but was not made by the module is left alone, with a warning.</summary>
    [Cmdlet(VerbsLifecycle.Uninstall, "PrefectBacklogPublisher", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(RemovedResource))]
    public sealed class UninstallPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord() => Guard(Name, () =>
        {
            var installer = new PublisherInstaller(Aws);
            WriteReadingProgress(Name, "Reading what is installed");
            PublisherState state = RunEngine((log, ct) => installer.ReadAsync(Name, withSecretHash: false, log, ct));
            List<AwsChange> changes = installer.PlanUninstall(state);
            if (changes.Count == 0) WriteVerbose("Nothing of the publisher " + Name + " is installed; nothing was removed.");
            ApplyChanges(changes, Name, Force, applied: change => WriteObject(new RemovedResource { Action = change.Action, Resource = change.Target }));
            foreach (string other in state.NotOwned())
                WriteWarning("Left alone: " + other + " has the publisher's name but PrefectScaling did not make it.");
        });
    }
}
