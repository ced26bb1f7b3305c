using System;
using System.Collections.Concurrent;
using System.Management.Automation;
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

        protected override void BeginProcessing() => _cancellation ??= new CancellationTokenSource();

        protected override void StopProcessing() => _cancellation?.Cancel();

        protected override void EndProcessing()
        {
            _cancellation?.Dispose();
            _cancellation = null;
        }

        /// <summary>Blocks on engine work once, pumping its log onto the verbose/debug streams meanwhile.</summary>
        protected T RunEngine<T>(Func<IEngineLog, CancellationToken, Task<T>> work)
        {
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
            bool whatIf = (MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? w) && w is SwitchParameter s && s.IsPresent)
                          || (GetVariableValue("WhatIfPreference") is bool preference && preference);
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
