using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.References;

namespace OciSync.Core.Content
{
    /// <summary>
    /// Reads through an inner stream while hashing and counting; at end of stream the size and
    /// digest must match the descriptor, otherwise the read throws. The uploader only sends the
    /// final chunk after that check, so corrupt bytes never complete an upload.
    /// </summary>
    internal sealed class VerifyingStream : Stream
    {
        private readonly Stream _inner;
        private readonly Digest _expected;
        private readonly long _expectedSize;
        private readonly IncrementalHash _hash;
        private Action<long>? _onBytes; // dropped on dispose: a pooled connection may hold the spent request, and this callback holds the run
        private readonly IDisposable? _owner;
        private long _read;
        private bool _verified;
        private CancellationTokenSource? _idle;
        private CancellationToken _idleFor;

        /// <param name="owner">Disposed with the stream, e.g. the HTTP response the bytes come from.</param>
        public VerifyingStream(Stream inner, Digest expected, long expectedSize, Action<long>? onBytes = null, IDisposable? owner = null)
        {
            _owner = owner;
            if (expected.Algorithm != "sha256") throw new NotSupportedException($"Digest algorithm {expected.Algorithm} cannot be verified yet.");
            _inner = inner;
            _expected = expected;
            _expectedSize = expectedSize;
            _onBytes = onBytes;
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        /// <summary>How long the stall between two reads may be before the transfer is abandoned.</summary>
        public TimeSpan ReadIdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

        /// <summary>
        /// Slowest rate tolerated, in bytes per second over each <see cref="RateWindow"/> (0: none). The idle
        /// timeout is reset by every byte, so without this a server sending one byte every few seconds
        /// would hold the transfer for ever.
        /// </summary>
        public long MinimumRate { get; set; }
        public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(60);
        // Runs only while a read waits for the source, so a destination that is slow to take the bytes is not blamed on it.
        private readonly System.Diagnostics.Stopwatch _window = new System.Diagnostics.Stopwatch();
        private long _windowBytes;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _expectedSize >= 0 ? _expectedSize : throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            // One idle timer per stream, armed for each read and disarmed after it (a linked source
            // plus a timer per read cost more than the read itself for small chunks). A new source is
            // made only when the caller's token changes or the previous one fired.
            var idle = IdleSource(cancellationToken);
            int n;
            idle.CancelAfter(ReadIdleTimeout);
            _window.Start();
            try
            {
                n = await _inner.ReadAsync(buffer, offset, count, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No bytes of {_expected} arrived for {ReadIdleTimeout.TotalSeconds:0} s.");
            }
            finally
            {
                idle.CancelAfter(Timeout.Infinite);
                _window.Stop();
            }
            CheckRate(n);
            if (n > 0)
            {
                _hash.AppendData(buffer, offset, n);
                _read += n;
                _onBytes?.Invoke(n);
                if (_expectedSize >= 0 && _read > _expectedSize)
                    throw new DigestMismatchException(_expected, $"more than the expected {_expectedSize} bytes");
            }
            else
            {
                Verify();
                var ended = Interlocked.Exchange(ref _ended, null);
                ended?.Invoke();
            }
            return n;
        }

        private Action? _ended;

        /// <summary>Told once, when the whole blob has been read and verified (the copier gives its transfer slot back then, not a round trip later).</summary>
        internal Action? Ended { set => _ended = value; }

        private void CheckRate(int n)
        {
            if (MinimumRate <= 0) return;
            _windowBytes += n;
            var elapsed = _window.Elapsed;
            if (elapsed < RateWindow) return;
            var rate = _windowBytes / elapsed.TotalSeconds;
            if (n > 0 && rate < MinimumRate)
                throw new TimeoutException($"{_expected} arrived at {rate:0} bytes/s over {elapsed.TotalSeconds:0} s, below the minimum of {MinimumRate} bytes/s.");
            _window.Reset();
            _windowBytes = 0;
        }

        private CancellationTokenSource IdleSource(CancellationToken caller)
        {
            if (_idle != null && !_idle.IsCancellationRequested && _idleFor == caller) return _idle;
            _idle?.Dispose();
            _idleFor = caller;
            _idle = caller.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(caller) : new CancellationTokenSource();
            return _idle;
        }

        private void Verify()
        {
            if (_verified) return;
            _verified = true;
            if (_expectedSize >= 0 && _read != _expectedSize)
                throw new DigestMismatchException(_expected, $"{_read} bytes instead of {_expectedSize}");
            var actual = Digest.FromSha256(_hash.GetHashAndReset());
            if (actual != _expected)
                throw new DigestMismatchException(_expected, $"the bytes hash to {actual}");
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _owner?.Dispose();
                _hash.Dispose();
                _idle?.Dispose();
                _onBytes = null;
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Content that does not match the digest it was fetched or stored by: wrong size or wrong hash.</summary>
    public sealed class DigestMismatchException : Exception, Transport.IHasErrorId
    {
        string Transport.IHasErrorId.ErrorId => Transport.ErrorIds.DigestMismatch;
        /// <summary>A mismatch for <paramref name="expected"/>; <paramref name="detail"/> says what differed and ends the message (no full stop).</summary>
        public DigestMismatchException(Digest expected, string detail)
            : base($"Content of {expected} failed verification: {detail}.")
        {
            Expected = expected;
        }

        /// <summary>The digest the content should have had.</summary>
        public Digest Expected { get; }
    }
}
