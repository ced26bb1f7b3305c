using System.Collections.Generic;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;
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
            // The push path first, Prefect's side before the URL it calls; its automations live on the publisher's server.
            var changes = new List<AwsChange>();
            if (RunEngine((log, ct) => installer.Push(null).PresentAsync(state, log, ct)))
            {
                PrefectClient? prefect = RunEngine((log, ct) => PushPath.InstalledPrefectAsync(state, Aws, log, ct));
                if (prefect == null)
                    WriteWarning("The publisher's configuration cannot be read, so its Prefect server is unknown: remove the automations tagged " + PushPath.PublisherTag(Name) + " and the Webhook block " + PushPath.BlockName(Name) + " there yourself.");
                PushPath push = installer.Push(prefect);
                changes.AddRange(push.PlanRemoval(RunEngine((log, ct) => push.ReadAsync(state.Names, withSecret: false, log, ct))));
            }
            changes.AddRange(installer.PlanUninstall(state));
            if (changes.Count == 0) WriteVerbose("Nothing of the publisher " + Name + " is installed; nothing was removed.");
            ApplyChanges(changes, Name, Force, applied: change => WriteObject(new RemovedResource { Action = change.Action, Resource = change.Target }));
            foreach (string other in state.NotOwned())
                WriteWarning("Left alone: " + other + " has the publisher's name but PrefectScaling did not make it.");
        });
    }
}
