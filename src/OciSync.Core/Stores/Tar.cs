using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// Where each file of a tar lives (offset and size of its data), read from the headers alone, so a
    /// member can be streamed from the archive without extracting anything. Reads ustar, GNU long names
    /// and PAX path/size records — what Go's archive/tar (skopeo) and GNU tar write. Untrusted: names are
    /// only looked up, never used as paths; sizes are checked against the file.
    /// </summary>
    internal sealed class TarIndex
    {
        private const int Block = 512;
        private const int MaxEntries = 1_000_000;
        private const int MaxExtendedHeader = 1024 * 1024;
        private readonly Dictionary<string, (long Offset, long Size)> _entries = new Dictionary<string, (long, long)>(StringComparer.Ordinal);

        public IReadOnlyDictionary<string, (long Offset, long Size)> Entries => _entries;

        public static TarIndex Read(string path)
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
            return Read(file, path);
        }

        private static TarIndex Read(Stream file, string what)
        {
            var index = new TarIndex();
            var header = new byte[Block];
            string? longName = null;
            long? paxSize = null;
            var length = file.Length;
            while (true)
            {
                if (index._entries.Count > MaxEntries) throw Invalid(what, $"it holds more than {MaxEntries} files");
                var start = file.Position;
                if (!ReadBlock(file, header)) return index; // tolerate a missing end-of-archive marker at EOF
                if (IsZero(header)) return index;
                if (!ChecksumMatches(header)) throw Invalid(what, $"the tar header at byte {start} is damaged");
                var type = (char)header[156];
                var size = paxSize ?? ParseSize(header, what, start);
                var dataStart = file.Position;
                if (size < 0 || dataStart + size > length) throw Invalid(what, $"the member at byte {start} runs past the end of the file");
                var padded = (size + Block - 1) / Block * Block;
                switch (type)
                {
                    case 'L': // GNU long name for the next member
                        longName = ReadText(file, size, what).TrimEnd('\0');
                        break;
                    case 'x': // PAX extended header for the next member
                        ParsePax(ReadText(file, size, what), ref longName, ref paxSize);
                        file.Position = dataStart + padded;
                        continue; // keep the size override for the next header
                    case 'g': // PAX global header: nothing this reader needs
                        break;
                    case '0':
                    case '\0':
                    case '7':
                        var name = longName ?? HeaderName(header);
                        if (name.StartsWith("./", StringComparison.Ordinal)) name = name.Substring(2);
                        index._entries[name] = (dataStart, size);
                        break;
                }
                if (type != 'L') longName = null;
                paxSize = null;
                file.Position = dataStart + padded;
            }
        }

        private static bool ReadBlock(Stream file, byte[] block)
        {
            var read = 0;
            while (read < Block)
            {
                var n = file.Read(block, read, Block - read);
                if (n == 0) return false;
                read += n;
            }
            return true;
        }

        private static bool IsZero(byte[] block)
        {
            foreach (var b in block) if (b != 0) return false;
            return true;
        }

        private static bool ChecksumMatches(byte[] header)
        {
            long sum = 0;
            for (int i = 0; i < Block; i++) sum += i >= 148 && i < 156 ? (byte)' ' : header[i];
            var text = Encoding.ASCII.GetString(header, 148, 8).Trim('\0', ' ');
            try { return text.Length > 0 && Convert.ToInt64(text, 8) == sum; }
            catch (FormatException) { return false; }
            catch (ArgumentException) { return false; }
        }

        private static long ParseSize(byte[] header, string what, long at)
        {
            if ((header[124] & 0x80) != 0)
            {
                // GNU base-256 for members of 8 GiB and more.
                long value = 0;
                for (int i = 125; i < 136; i++) value = checked((value << 8) | header[i]);
                return value;
            }
            var text = Encoding.ASCII.GetString(header, 124, 12).Trim('\0', ' ');
            if (text.Length == 0) return 0;
            try { return Convert.ToInt64(text, 8); }
            catch (Exception e) when (e is FormatException || e is ArgumentException || e is OverflowException) { throw Invalid(what, $"the tar header at byte {at} has a bad size"); }
        }

        private static string HeaderName(byte[] header)
        {
            var name = CString(header, 0, 100);
            var magic = Encoding.ASCII.GetString(header, 257, 5);
            if (magic == "ustar")
            {
                var prefix = CString(header, 345, 155);
                if (prefix.Length > 0) name = prefix + "/" + name;
            }
            return name;
        }

        private static string CString(byte[] bytes, int offset, int length)
        {
            var end = Array.IndexOf(bytes, (byte)0, offset, length);
            return Encoding.UTF8.GetString(bytes, offset, (end < 0 ? offset + length : end) - offset);
        }

        private static string ReadText(Stream file, long size, string what)
        {
            if (size > MaxExtendedHeader) throw Invalid(what, "an extended tar header is too large");
            var bytes = new byte[size];
            var read = 0;
            while (read < size)
            {
                var n = file.Read(bytes, read, (int)size - read);
                if (n == 0) throw Invalid(what, "it ends inside a member");
                read += n;
            }
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>PAX records: "LEN key=value\n".</summary>
        private static void ParsePax(string text, ref string? name, ref long? size)
        {
            foreach (var record in text.Split('\n'))
            {
                var space = record.IndexOf(' ');
                var equals = record.IndexOf('=');
                if (space < 0 || equals < space) continue;
                var key = record.Substring(space + 1, equals - space - 1);
                var value = record.Substring(equals + 1);
                if (key == "path") name = value;
                else if (key == "size" && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s)) size = s;
            }
        }

        private static RegistryException Invalid(string what, string problem) =>
            new RegistryException(ErrorIds.LayoutInvalid, $"{what} is not a readable OCI archive: {problem}.");
    }

    /// <summary>Writes a ustar archive member by member (GNU base-256 sizes past 8 GiB), then the end-of-archive blocks.</summary>
    internal sealed class TarWriter
    {
        private const int Block = 512;
        private static readonly byte[] Zeros = new byte[Block * 2];
        private readonly Stream _out;

        public TarWriter(Stream output) => _out = output;

        public async Task AddAsync(string name, long size, Stream content, CancellationToken ct)
        {
            var header = Header(name, size);
            await _out.WriteAsync(header, 0, header.Length, ct).ConfigureAwait(false);
            var buffer = new byte[1024 * 1024];
            long copied = 0;
            int n;
            while ((n = await content.ReadAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false)) > 0)
            {
                copied += n;
                if (copied > size) throw new InvalidDataException($"{name} is longer than the {size} bytes announced.");
                await _out.WriteAsync(buffer, 0, n, ct).ConfigureAwait(false);
            }
            if (copied != size) throw new InvalidDataException($"{name} has {copied} bytes, not the {size} announced.");
            var pad = (int)((Block - size % Block) % Block);
            if (pad > 0) await _out.WriteAsync(Zeros, 0, pad, ct).ConfigureAwait(false);
        }

        public Task AddAsync(string name, byte[] bytes, CancellationToken ct) => AddAsync(name, bytes.Length, new MemoryStream(bytes, writable: false), ct);

        public Task FinishAsync(CancellationToken ct) => _out.WriteAsync(Zeros, 0, Zeros.Length, ct);

        private static byte[] Header(string name, long size)
        {
            var header = new byte[Block];
            var bytes = Encoding.UTF8.GetBytes(name);
            if (bytes.Length > 100)
            {
                // ustar: split at a '/' into prefix (155) and name (100); layout names always fit this way.
                var cut = name.LastIndexOf('/', Math.Min(name.Length - 1, 155));
                if (cut <= 0 || Encoding.UTF8.GetByteCount(name.Substring(cut + 1)) > 100) throw new ArgumentException($"'{name}' is too long for a tar header.", nameof(name));
                Encoding.UTF8.GetBytes(name.Substring(0, cut)).CopyTo(header, 345);
                bytes = Encoding.UTF8.GetBytes(name.Substring(cut + 1));
            }
            bytes.CopyTo(header, 0);
            Octal(header, 100, 8, 0x1a4); // mode 0644
            Octal(header, 108, 8, 0);     // uid
            Octal(header, 116, 8, 0);     // gid
            if (size > 8589934591L) // 077777777777, the largest size an octal field holds
            {
                header[124] = 0x80;
                for (int i = 135; i > 124; i--) { header[i] = (byte)(size & 0xFF); size >>= 8; }
            }
            else Octal(header, 124, 12, size);
            Octal(header, 136, 12, 0);    // mtime: 0, so the same content makes the same archive
            header[156] = (byte)'0';
            Encoding.ASCII.GetBytes("ustar\0").CopyTo(header, 257);
            Encoding.ASCII.GetBytes("00").CopyTo(header, 263);
            for (int i = 148; i < 156; i++) header[i] = (byte)' ';
            long sum = 0;
            foreach (var b in header) sum += b;
            Octal(header, 148, 7, sum);
            header[155] = (byte)' ';
            return header;
        }

        private static void Octal(byte[] header, int offset, int length, long value)
        {
            var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
            Encoding.ASCII.GetBytes(text).CopyTo(header, offset);
            header[offset + length - 1] = 0;
        }
    }

    /// <summary>A window of <c>length</c> bytes of a file, from <c>offset</c>: one archive member, streamed.</summary>
    internal sealed class FileSlice : Stream
    {
        private readonly FileStream _file;
        private readonly long _end;

        public FileSlice(string path, long offset, long length)
        {
            _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
            _file.Position = offset;
            _end = offset + length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => _file.Read(buffer, offset, Clamp(count));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _file.ReadAsync(buffer, offset, Clamp(count), ct);

        private int Clamp(int count) => (int)Math.Max(0, Math.Min(count, _end - _file.Position));

        protected override void Dispose(bool disposing)
        {
            if (disposing) _file.Dispose();
            base.Dispose(disposing);
        }
    }
}
