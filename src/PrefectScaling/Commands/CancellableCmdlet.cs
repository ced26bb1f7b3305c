using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Commands
{
    /// <summary>What every cmdlet shares: cancellation on Ctrl+C, and running engine work on the thread pool
    /// while its verbose and debug messages are written from the pipeline thread as they happen.</summary>
    public abstract class CancellableCmdlet : PSCmdlet
    {
        private CancellationTokenSource? _cancellation;

        protected CancellationToken CancellationToken => (_cancellation ??= new CancellationTokenSource()).Token;

        private bool _debugSettled;

        protected override void BeginProcessing()
        {
            _cancellation ??= new CancellationTokenSource();
            SettleDebugSwitch();
        }

        protected override void StopProcessing() => _cancellation?.Cancel();

        protected override void EndProcessing()
        {
            _cancellation?.Dispose();
            _cancellation = null;
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
        protected T RunEngine<T>(Func<IEngineLog, CancellationToken, Task<T>> work)
        {
            SettleDebugSwitch();
            using var log = new PipelineLog();
            Task<T> task = Task.Run(() => work(log, CancellationToken));
            task.ContinueWith(_ => log.Complete(), TaskScheduler.Default);
            foreach ((bool debug, string message) in log.Messages.GetConsumingEnumerable())
            {
                if (debug) WriteDebug(message);
                else WriteVerbose(message);
            }
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
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

        /// <summary>ShouldProcess, except that -Force answers the confirmation (never -WhatIf).</summary>
        protected bool ShouldChange(string target, string action, bool force)
        {
            bool whatIf = IsSwitchOn("WhatIf") || (GetVariableValue("WhatIfPreference") is bool preference && preference);
            return force && !whatIf ? true : ShouldProcess(target, action);
        }

        internal static string? Plain(SecureString? secure)
        {
            if (secure == null || secure.Length == 0) return null;
            IntPtr pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try { return Marshal.PtrToStringUni(pointer); }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(pointer); }
        }
    }
}
