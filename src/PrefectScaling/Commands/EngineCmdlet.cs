using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Commands
{
    /// <summary>What every cmdlet shares: engine work run on the thread pool while its verbose and debug messages
    /// are written from the pipeline thread as they happen, cancelled on Ctrl+C; the one catch that turns engine
    /// failures into error records; and the one loop that confirms and applies planned AWS changes.
    /// PowerShell disposes the cmdlet after its pipeline, whatever happened, so nothing here depends on
    /// EndProcessing running.</summary>
    public abstract class EngineCmdlet : PSCmdlet, IDisposable
    {
        private const int ChangesProgressId = 1;

        private readonly CancellationTokenSource _cancellation = new CancellationTokenSource();
        // StopProcessing comes from another thread: it must not cancel a source that Dispose is freeing.
        private readonly object _lifetime = new object();
        private bool _disposed;
        private bool _debugSettled;

        protected CancellationToken CancellationToken => _cancellation.Token;

        protected override void BeginProcessing() => SettleDebugSwitch();

        protected override void StopProcessing() => Cancel();

        private void Cancel()
        {
            lock (_lifetime)
            {
                if (!_disposed) _cancellation.Cancel();
            }
        }

        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Frees what the invocation held; a base that holds more adds to this.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (!disposing) return;
            lock (_lifetime)
            {
                if (_disposed) return;
                _disposed = true;
                _cancellation.Dispose();
            }
        }

        /// <summary>-Debug on a compiled cmdlet still means Inquire to PowerShell 7 for the verbose and warning
        /// streams: every WriteVerbose/WriteWarning would prompt, and fail without a console. Users expect what
        /// -Debug does for functions: the debug lines shown, the other streams as their own switches and
        /// preference variables say. The runtime has no public way to say so, so this sets its internal
        /// preferences; on a PowerShell without them the cmdlet simply keeps PowerShell's behaviour.</summary>
        private void SettleDebugSwitch()
        {
            if (_debugSettled) return;
            _debugSettled = true;
            if (!IsSwitchOn("Debug")) return;
            object runtime = CommandRuntime;
            Type type = runtime.GetType();
            const BindingFlags internalInstance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
            try
            {
                type.GetProperty("DebugPreference", internalInstance)?.SetValue(runtime, ActionPreference.Continue);
                if (!MyInvocation.BoundParameters.ContainsKey("Verbose"))
                {
                    // Only a yes/no flag can be set for verbose: Continue shows, SilentlyContinue/Ignore hide.
                    ActionPreference? verbose = Preference("VerbosePreference");
                    if (verbose == ActionPreference.Continue || verbose == ActionPreference.SilentlyContinue || verbose == ActionPreference.Ignore)
                        type.GetProperty("Verbose", internalInstance)?.SetValue(runtime, verbose == ActionPreference.Continue);
                }
                if (!MyInvocation.BoundParameters.ContainsKey("WarningAction"))
                {
                    ActionPreference warning = Preference("WarningPreference") ?? ActionPreference.Continue;
                    if (warning != ActionPreference.Inquire)
                        type.GetProperty("WarningPreference", internalInstance)?.SetValue(runtime, warning);
                }
            }
            catch (Exception e) when (e is TargetInvocationException || e is ArgumentException || e is MethodAccessException)
            {
                // Another PowerShell's runtime: leave it as it is.
            }
        }

        private bool IsSwitchOn(string name) =>
            MyInvocation.BoundParameters.TryGetValue(name, out object? value) && value is SwitchParameter s && s.IsPresent;

        private ActionPreference? Preference(string variable)
        {
            object? value = GetVariableValue(variable);
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            if (value is ActionPreference preference) return preference;
            return value != null && Enum.TryParse(value.ToString(), true, out ActionPreference parsed) ? parsed : (ActionPreference?)null;
        }

        /// <summary>Blocks on engine work once, pumping its log onto the verbose/debug streams meanwhile.</summary>
        protected void RunEngine(Func<IEngineLog, CancellationToken, Task> work) => Pump(work);

        /// <summary>Blocks on engine work once, pumping its log onto the verbose/debug streams meanwhile.</summary>
        protected T RunEngine<T>(Func<IEngineLog, CancellationToken, Task<T>> work)
        {
            Task<T>? running = null;
            Pump((log, ct) => running = work(log, ct));
            // Back here, the work ran to completion: its result is ready.
            return running!.Result;
        }

        /// <summary>Runs the work on the thread pool and writes its messages from this thread until it ends; its
        /// failure comes out as itself, a cancellation by Ctrl+C as PipelineStoppedException.</summary>
        private void Pump(Func<IEngineLog, CancellationToken, Task> work)
        {
            SettleDebugSwitch();
            CancellationToken token = CancellationToken;
            using var log = new PipelineLog();
            Task task = Task.Run(() => work(log, token));
            task.ContinueWith(_ => log.Complete(), TaskScheduler.Default);
            try
            {
                foreach ((bool debug, string message) in log.Messages.GetConsumingEnumerable())
                {
                    if (debug) WriteDebug(message);
                    else WriteVerbose(message);
                }
            }
            catch
            {
                // A write failed (the pipeline is stopping, or a preference says Stop): the work must not outlive
                // the cmdlet, whose disposal frees what the work uses.
                Cancel();
                try { task.Wait(); }
                catch (AggregateException) { /* moot: the write's failure is what the user sees */ }
                throw;
            }
            try
            {
                task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        private sealed class PipelineLog : IEngineLog, IDisposable
        {
            public readonly BlockingCollection<(bool Debug, string Message)> Messages = new BlockingCollection<(bool, string)>();
            public void Verbose(string message) => TryAdd(false, message);
            public void Debug(string message) => TryAdd(true, message);
            public void Complete() => Messages.CompleteAdding();
            public void Dispose() => Messages.Dispose();

            private void TryAdd(bool debug, string message)
            {
                try { Messages.Add((debug, message)); }
                catch (InvalidOperationException) { /* the cmdlet has finished; nobody is listening */ }
            }
        }

        /// <summary>The module's one catch: runs a unit of work and turns an engine failure into an error record
        /// about the target, through ErrorRecords. Non-terminating unless asked, so the next input still runs.
        /// Says whether the work ran to its end.</summary>
        protected bool Guard(object? target, Action work, bool terminating = false)
        {
            try
            {
                work();
                return true;
            }
            catch (Exception e) when (ErrorRecords.IsEngineFailure(e))
            {
                ErrorRecord record = ErrorRecords.From(e, target);
                if (terminating) ThrowTerminatingError(record);
                WriteError(record);
                return false;
            }
        }

        /// <summary>Confirms and applies planned changes in order, each by its own engine run, so that every prompt,
        /// progress step and verbose line comes between AWS calls. -Force answers the confirmation, never -WhatIf.
        /// A change that fails stops the rest and comes out as its exception (for the caller's Guard); the
        /// changes before it stay made, as the plan is idempotent and a second run finishes the job.</summary>
        /// <returns>The changes made: fewer than planned when some were declined (or -WhatIf).</returns>
        protected IReadOnlyList<AwsChange> ApplyChanges(IReadOnlyList<AwsChange> changes, string subject, bool force = false, Action<AwsChange>? applied = null)
        {
            string activity = MyInvocation.MyCommand.Name + " " + subject;
            var made = new List<AwsChange>(changes.Count);
            try
            {
                for (int i = 0; i < changes.Count; i++)
                {
                    AwsChange change = changes[i];
                    WriteProgress(new ProgressRecord(ChangesProgressId, activity, change.Action) { PercentComplete = 100 * i / changes.Count, CurrentOperation = change.Target });
                    if (!ShouldChange(change.Target, change.Action, force)) continue;
                    RunEngine(change.Apply);
                    WriteVerbose(change.ToString());
                    made.Add(change);
                    applied?.Invoke(change);
                }
            }
            finally
            {
                WriteProgress(new ProgressRecord(ChangesProgressId, activity, "Done") { RecordType = ProgressRecordType.Completed });
            }
            return made;
        }

        /// <summary>Progress of the reading that comes before a plan, under the same activity as its changes.</summary>
        protected void WriteReadingProgress(string subject, string what) =>
            WriteProgress(new ProgressRecord(ChangesProgressId, MyInvocation.MyCommand.Name + " " + subject, what) { PercentComplete = 0 });

        /// <summary>ShouldProcess, except that -Force answers the confirmation (never -WhatIf).</summary>
        private bool ShouldChange(string target, string action, bool force)
        {
            bool whatIf = IsSwitchOn("WhatIf") || (GetVariableValue("WhatIfPreference") is bool preference && preference);
            return force && !whatIf ? true : ShouldProcess(target, action);
        }
    }
}
