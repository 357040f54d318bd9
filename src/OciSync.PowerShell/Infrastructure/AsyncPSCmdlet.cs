using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// Runs async work off the pipeline thread and pumps its output, errors, verbose/debug lines and
    /// progress back onto the pipeline thread, the only one allowed to call Write*. Ctrl+C cancels
    /// the token the work runs with, so everything in flight stops promptly.
    /// </summary>
    public abstract class AsyncPSCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private BlockingCollection<Action>? _queue;
        // The pipeline thread: outside Run only it may write. Work still running after Run has ended
        // (a pump stopped by Select-Object -First, Ctrl+C) posts nothing more.
        private int _pipelineThread = Environment.CurrentManagedThreadId;

        protected CancellationToken StopToken => _stopping.Token;

        /// <summary>
        /// Masks the call's passwords and tokens: in every error record posted below, and in every log
        /// line (CmdletLog scrubs before the file and the verbose/debug/warning streams; result objects
        /// are scrubbed by the engine).
        /// </summary>
        private protected SecretScrubber Scrubber { get; set; } = SecretScrubber.None;

        protected override void StopProcessing() => _stopping.Cancel();

        /// <summary>Runs <paramref name="work"/> to completion while writing what it posts.</summary>
        protected void Run(Func<CancellationToken, Task> work)
        {
            using var queue = new BlockingCollection<Action>();
            _pipelineThread = Environment.CurrentManagedThreadId;
            _queue = queue;
            var task = Task.Run(async () =>
            {
                try { await work(_stopping.Token).ConfigureAwait(false); }
                finally { queue.CompleteAdding(); }
            });
            try
            {
                foreach (var action in queue.GetConsumingEnumerable()) action();
                task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            finally
            {
                if (!task.IsCompleted) _stopping.Cancel();
                _queue = null;
            }
        }

        /// <summary>Queues an action for the pipeline thread; safe from any thread.</summary>
        protected void Post(Action action)
        {
            var queue = _queue;
            if (queue == null)
            {
                if (Environment.CurrentManagedThreadId == _pipelineThread) action();
                return;
            }
            try { queue.Add(action); }
            catch (InvalidOperationException) { /* the pump has closed (or is disposed): the command is ending */ }
        }

        /// <summary>
        /// Runs <paramref name="ask"/> on the pipeline thread and waits for its answer (ShouldProcess
        /// from the engine's threads). Safe from any thread; on the pipeline thread it just runs.
        /// </summary>
        protected T Ask<T>(Func<T> ask)
        {
            if (_queue == null)
            {
                if (Environment.CurrentManagedThreadId == _pipelineThread) return ask();
                throw new OperationCanceledException("The command has ended; nothing more is asked.");
            }
            var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(() =>
            {
                try { answer.TrySetResult(ask()); }
                catch (Exception e) { answer.TrySetException(e); }
            });
            // A pump that has closed never runs it; Ctrl+C must not leave the engine waiting.
            try { answer.Task.Wait(_stopping.Token); }
            catch (AggregateException e) when (e.InnerException != null) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw(); }
            return answer.Task.Result;
        }

        protected void PostObject(object value) => Post(() => WriteObject(value));
        protected void PostError(ErrorRecord record) => Post(() => WriteError(Scrub(record)));
        protected void PostVerbose(string text) => Post(() => this.Verbose(text));
        protected void PostDebug(string text) => Post(() => WriteDebug(text));
        protected void PostWarning(string text) => Post(() => this.Warning(text));

        private ErrorRecord Scrub(ErrorRecord record)
        {
            var exception = Scrubber.Scrub(record.Exception);
            var target = record.TargetObject is string s ? Scrubber.Scrub(s) : record.TargetObject;
            if (ReferenceEquals(exception, record.Exception) && Equals(target, record.TargetObject)) return record;
            return new ErrorRecord(exception, record.FullyQualifiedErrorId, record.CategoryInfo.Category, target);
        }
        protected void PostProgress(ProgressRecord record) => Post(() => WriteProgress(record));

        /// <summary>PowerShell disposes the cmdlet however it ends, terminating errors and Ctrl+C included.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        protected virtual void Dispose(bool disposing)
        {
            if (disposing) _stopping.Dispose();
        }
    }
}
