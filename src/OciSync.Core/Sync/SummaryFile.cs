using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>A run summary file that cannot be used, or a problem of a set of them (the <see cref="ErrorId"/> says which).</summary>
    public sealed class SyncResultException : Exception, IHasErrorId
    {
        /// <param name="errorId">One of <see cref="ErrorIds.SummaryFileInvalid"/>, <see cref="ErrorIds.ShardResultMissing"/>, <see cref="ErrorIds.ShardResultDuplicate"/>, <see cref="ErrorIds.ShardResultMismatch"/>.</param>
        public SyncResultException(string errorId, string? path, string message, Exception? inner = null) : base(message, inner)
        {
            ErrorId = errorId;
            Path = path;
        }

        /// <inheritdoc/>
        public string ErrorId { get; }
        /// <summary>The summary file concerned; null for a problem of the whole set (a missing shard).</summary>
        public string? Path { get; }
    }

    /// <summary>One run's summary file read back: the totals, and its failed and success entries as rules again.</summary>
    public sealed class ShardResult
    {
        internal ShardResult(string path, SyncSummary summary, string failedImages, string successImages,
            IReadOnlyList<SyncRule> failedRules, IReadOnlyList<SyncRule> successRules)
        {
            Path = path; Summary = summary; FailedImages = failedImages; SuccessImages = successImages;
            FailedRules = failedRules; SuccessRules = successRules;
        }

        /// <summary>The file it was read from (as given).</summary>
        public string Path { get; }
        /// <summary>The run's totals, with its shard.</summary>
        public SyncSummary Summary { get; }
        /// <summary>The failed images file's YAML text, as the run wrote it (empty when nothing failed).</summary>
        public string FailedImages { get; }
        /// <summary>The success images file's YAML text (empty when nothing is in sync).</summary>
        public string SuccessImages { get; }
        /// <summary><see cref="FailedImages"/> parsed by the images-file reader: each failed copy, and each rule whose listing failed as that rule.</summary>
        public IReadOnlyList<SyncRule> FailedRules { get; }
        /// <summary><see cref="SuccessImages"/> parsed the same way.</summary>
        public IReadOnlyList<SyncRule> SuccessRules { get; }

        /// <summary>
        /// The shards this file accounts for: its own; a merged summary's <see cref="SyncSummary.Shards"/>; a
        /// whole (unsharded) run is shard 0 of 1.
        /// </summary>
        internal IReadOnlyList<int> Covers =>
            Summary.Shard is int shard ? new[] { shard } : Summary.ShardCount != null ? Summary.Shards : new[] { 0 };

        /// <summary>The shard count it belongs to (1 for a whole run).</summary>
        internal int Count => Summary.ShardCount ?? 1;
    }

    /// <summary>
    /// The run summary file (<c>Invoke-ImageSync -SummaryPath</c>, read by <c>Merge-SyncResult</c>): one JSON object,
    /// UTF-8, <c>"format": "ocisync-summary/1"</c>; then every <see cref="SyncSummary"/> count in camelCase
    /// (<c>images</c>, <c>synced</c>, <c>unchanged</c>, <c>filtered</c>, <c>failed</c>, <c>declined</c>, <c>deleted</c>,
    /// <c>kept</c>, <c>referrersSynced</c>, <c>referrersUnchanged</c>, <c>blobsCopied</c>, <c>blobsMounted</c>,
    /// <c>blobsPresent</c>, <c>bytesCopied</c>, <c>requestRetries</c>, <c>passes</c>), <c>startTime</c> and
    /// <c>endTime</c> (ISO 8601 UTC), <c>seconds</c>, <c>succeeded</c>; <c>shard</c> and <c>shardCount</c> (numbers, or
    /// null for a whole job); <c>shards</c> and <c>missingShards</c> (arrays; empty but for a merged summary); and
    /// <c>failedImages</c> / <c>successImages</c>: the YAML text the failed and success images files hold (a rule whose
    /// listing failed as that rule), empty when there is none. Readers ignore members they do not know.
    /// </summary>
    public static class SummaryFile
    {
        /// <summary>The <c>format</c> member's value.</summary>
        public const string FormatName = "ocisync-summary/1";
        /// <summary>Largest summary file read (64 MiB): a hostile or broken file is refused, not loaded whole.</summary>
        public const int MaxBytes = 64 * 1024 * 1024;
        /// <summary>How long opening and reading a file may take: a FIFO or a stalled share must not hang the merge.</summary>
        internal static TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

        /// <summary>The file's JSON text.</summary>
        public static string Format(SyncSummary summary, string failedImages, string successImages)
        {
            if (summary == null) throw new ArgumentNullException(nameof(summary));
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteString("format", FormatName);
                WriteNullable(w, "shard", summary.Shard);
                WriteNullable(w, "shardCount", summary.ShardCount);
                if (summary.RunId != null) w.WriteString("runId", summary.RunId); else w.WriteNull("runId");
                w.WriteNumber("images", summary.Images);
                w.WriteNumber("synced", summary.Synced);
                w.WriteNumber("unchanged", summary.Unchanged);
                w.WriteNumber("filtered", summary.Filtered);
                w.WriteNumber("failed", summary.Failed);
                w.WriteNumber("declined", summary.Declined);
                w.WriteNumber("deleted", summary.Deleted);
                w.WriteNumber("kept", summary.Kept);
                w.WriteNumber("referrersSynced", summary.ReferrersSynced);
                w.WriteNumber("referrersUnchanged", summary.ReferrersUnchanged);
                w.WriteNumber("blobsCopied", summary.BlobsCopied);
                w.WriteNumber("blobsMounted", summary.BlobsMounted);
                w.WriteNumber("blobsPresent", summary.BlobsPresent);
                w.WriteNumber("bytesCopied", summary.BytesCopied);
                w.WriteNumber("requestRetries", summary.RequestRetries);
                w.WriteNumber("passes", summary.Passes);
                w.WriteString("startTime", summary.StartTime.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture));
                w.WriteString("endTime", summary.EndTime.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture));
                w.WriteNumber("seconds", summary.Seconds);
                w.WriteBoolean("succeeded", summary.Succeeded);
                WriteArray(w, "shards", summary.Shards);
                WriteArray(w, "missingShards", summary.MissingShards);
                w.WriteString("failedImages", failedImages ?? string.Empty);
                w.WriteString("successImages", successImages ?? string.Empty);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
        }

        /// <summary>Writes the file (its folder created as needed).</summary>
        public static void Write(string path, SyncSummary summary, string failedImages, string successImages)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            var text = Format(summary, failedImages, successImages);
            var full = System.IO.Path.GetFullPath(path);
            var dir = System.IO.Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            File.WriteAllText(full, text, new UTF8Encoding(false));
        }

        /// <summary>Reads a file; anything wrong with it is a <see cref="SyncResultException"/> (SummaryFileInvalid) naming the file and the problem.</summary>
        public static ShardResult Read(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            return Parse(ReadBytes(path), path);
        }

        /// <summary>Parses a file's bytes (UTF-8 JSON) as if read from <paramref name="path"/>.</summary>
        public static ShardResult Parse(string text, string path) => Parse(Encoding.UTF8.GetBytes(text ?? string.Empty), path);

        private static byte[] ReadBytes(string path)
        {
            try
            {
                return BoundedFileReader.Read(path, MaxBytes, ReadTimeout);
            }
            catch (TimeoutException e)
            {
                throw Invalid(path, $"it could not be read within {ReadTimeout.TotalSeconds:0} s (not a regular file?).", e);
            }
            catch (InvalidDataException e)
            {
                throw Invalid(path, $"the file is larger than {MaxBytes / (1024 * 1024)} MiB; a summary is far smaller.", e);
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw Invalid(path, "the file does not exist.", e);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException || e is System.Security.SecurityException)
            {
                var why = Directory.Exists(path) ? "it is a directory, not a file." : e is UnauthorizedAccessException ? "access is denied." : e.Message;
                throw Invalid(path, "the file cannot be read: " + why, e);
            }
        }

        private static ShardResult Parse(byte[] bytes, string path)
        {
            if (bytes.Length > MaxBytes) throw Invalid(path, $"the file is larger than {MaxBytes / (1024 * 1024)} MiB; a summary is far smaller.");
            JsonDocument doc;
            try
            {
                // Skip a byte order mark, as a text editor may have saved one.
                var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
                doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(bytes, start, bytes.Length - start), new JsonDocumentOptions { MaxDepth = 16 });
            }
            catch (JsonException e)
            {
                var at = e.LineNumber != null ? $" (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})" : "";
                throw Invalid(path, "it is not JSON" + at + ".", e);
            }
            catch (ArgumentException e)
            {
                throw Invalid(path, "it is not UTF-8 JSON.", e);
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, $"it must be a JSON object, not {Kind(root)}.");
                var format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
                if (format != FormatName)
                    throw Invalid(path, format == null ? $"it has no \"format\": \"{FormatName}\"; it is not a summary file." : $"its format is '{UntrustedText(format)}', not '{FormatName}'.");

                var reader = new Members(root, path);
                var shardCount = reader.NullableInt("shardCount", 1, ShardSpec.MaxCount);
                var shard = reader.NullableInt("shard", 0, ShardSpec.MaxCount - 1);
                if (shard != null && shardCount == null) throw Invalid(path, "it has a \"shard\" but no \"shardCount\".");
                if (shard != null && shard >= shardCount) throw Invalid(path, $"its shard {shard} is not one of its {shardCount} (0 to {shardCount - 1}).");
                var shards = reader.Shards("shards", shardCount);
                var missing = reader.Shards("missingShards", shardCount);
                // A shard's file names its shard, a merged one the shards it adds up: one naming none would account for nothing.
                if (shardCount != null && shard == null && shards.Length == 0)
                    throw Invalid(path, "it has a \"shardCount\" but neither a \"shard\" nor any \"shards\".");
                var runId = reader.NullableString("runId");
                if (runId != null && !RunId.IsValid(runId)) throw Invalid(path, $"its \"runId\" '{UntrustedText(runId)}' is not a run id (1 to 128 letters, digits and . _ : -).");
                var summary = new SyncSummary
                {
                    Shard = shard,
                    ShardCount = shardCount,
                    RunId = runId,
                    Shards = shards,
                    MissingShards = missing,
                    Images = reader.Int("images", required: true),
                    Synced = reader.Int("synced", required: true),
                    Unchanged = reader.Int("unchanged", required: true),
                    Filtered = reader.Int("filtered", required: true),
                    Failed = reader.Int("failed", required: true),
                    Declined = reader.Int("declined"),
                    Deleted = reader.Int("deleted"),
                    Kept = reader.Int("kept"),
                    ReferrersSynced = reader.Int("referrersSynced"),
                    ReferrersUnchanged = reader.Int("referrersUnchanged"),
                    BlobsCopied = reader.Int("blobsCopied"),
                    BlobsMounted = reader.Int("blobsMounted"),
                    BlobsPresent = reader.Int("blobsPresent"),
                    BytesCopied = reader.Long("bytesCopied"),
                    RequestRetries = reader.Int("requestRetries"),
                    Passes = reader.Int("passes"),
                    StartTime = reader.Time("startTime"),
                    EndTime = reader.Time("endTime"),
                    Seconds = reader.Seconds("seconds"),
                };
                var failedText = reader.Text("failedImages");
                var successText = reader.Text("successImages");
                var failedRules = Rules(failedText, path, "failedImages");
                var successRules = Rules(successText, path, "successImages");
                return new ShardResult(path, summary, failedText, successText, failedRules, successRules);
            }
        }

        /// <summary>An embedded images file through the images-file reader; a broken entry makes the file unusable (its failures would be lost silently).</summary>
        private static IReadOnlyList<SyncRule> Rules(string text, string path, string member)
        {
            if (text.Length == 0) return Array.Empty<SyncRule>();
            ImagesFileResult parsed;
            // The run wrote its entries expanded: reading them must not expand this machine's environment into them
            // (a hostile file's "${SECRET}" would carry a secret into a destination name).
            string? variable = null;
            var options = new RuleOptions { GetEnvironmentVariable = name => { variable ??= name; return null; } };
            try
            {
                parsed = ImagesFile.Parse(text, member + ".yaml", options);
            }
            catch (ConfigException e)
            {
                throw Invalid(path, $"its \"{member}\" is not an images file: {e.Message}", e);
            }
            if (variable != null)
                throw Invalid(path, $"its \"{member}\" asks for the environment variable {UntrustedText(variable)} (or a default destination); a run writes its entries expanded, so a summary file is read without the environment.");
            var error = parsed.Errors.FirstOrDefault(p => p.Severity == ConfigSeverity.Error);
            if (error != null) throw Invalid(path, $"its \"{member}\" has a broken entry: {error.Message}");
            return parsed.Rules;
        }

        private static void WriteNullable(Utf8JsonWriter w, string name, int? value)
        {
            if (value is int v) w.WriteNumber(name, v);
            else w.WriteNull(name);
        }

        private static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<int> values)
        {
            w.WriteStartArray(name);
            foreach (var v in values) w.WriteNumberValue(v);
            w.WriteEndArray();
        }

        internal static SyncResultException Invalid(string path, string problem, Exception? inner = null) =>
            new SyncResultException(ErrorIds.SummaryFileInvalid, path, $"The summary file '{path}' cannot be used: {problem}", inner);

        private static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };

        /// <summary>A value from the file, shortened for a message (a 10 MB string is no error text).</summary>
        private static string UntrustedText(string s)
        {
            var clean = new string(s.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
            return s.Length > 80 ? clean + "..." : clean;
        }

        /// <summary>Typed reads of the root's members, each wrong one an error naming the member.</summary>
        private sealed class Members
        {
            private readonly JsonElement _root;
            private readonly string _path;
            public Members(JsonElement root, string path) { _root = root; _path = path; }

            private bool TryGet(string name, out JsonElement value) =>
                _root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

            public int Int(string name, bool required = false)
            {
                if (!TryGet(name, out var v))
                {
                    if (required) throw Invalid(_path, $"it has no \"{name}\".");
                    return 0;
                }
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < 0)
                    throw Invalid(_path, $"its \"{name}\" must be a whole number of 0 or more, not {Shown(v)}.");
                return n;
            }

            public long Long(string name)
            {
                if (!TryGet(name, out var v)) return 0;
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n) || n < 0)
                    throw Invalid(_path, $"its \"{name}\" must be a whole number of 0 or more, not {Shown(v)}.");
                return n;
            }

            public int? NullableInt(string name, int min, int max)
            {
                if (!TryGet(name, out var v)) return null;
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < min || n > max)
                    throw Invalid(_path, $"its \"{name}\" must be null or a whole number from {min} to {max}, not {Shown(v)}.");
                return n;
            }

            public int[] Shards(string name, int? count)
            {
                if (!TryGet(name, out var v)) return Array.Empty<int>();
                if (v.ValueKind != JsonValueKind.Array) throw Invalid(_path, $"its \"{name}\" must be an array of shard numbers, not {Kind(v)}.");
                var list = new SortedSet<int>();
                foreach (var item in v.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var n) || n < 0 || n >= (count ?? 0))
                        throw Invalid(_path, $"its \"{name}\" holds {Shown(item)}, which is not a shard of its shardCount ({(count?.ToString(CultureInfo.InvariantCulture) ?? "none")}).");
                    list.Add(n);
                }
                return list.ToArray();
            }

            public DateTime Time(string name)
            {
                if (!TryGet(name, out var v)) return default;
                if (v.ValueKind == JsonValueKind.String
                    && DateTime.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
                    return t;
                throw Invalid(_path, $"its \"{name}\" must be an ISO 8601 time, not {Shown(v)}.");
            }

            public double Seconds(string name)
            {
                if (!TryGet(name, out var v)) return 0;
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d < 0 || double.IsInfinity(d) || double.IsNaN(d))
                    throw Invalid(_path, $"its \"{name}\" must be a number of seconds, not {Shown(v)}.");
                return d;
            }

            public string? NullableString(string name)
            {
                if (!TryGet(name, out var v)) return null;
                if (v.ValueKind != JsonValueKind.String) throw Invalid(_path, $"its \"{name}\" must be null or a string, not {Kind(v)}.");
                return v.GetString();
            }

            public string Text(string name)
            {
                if (!_root.TryGetProperty(name, out var v)) throw Invalid(_path, $"it has no \"{name}\".");
                if (v.ValueKind != JsonValueKind.String) throw Invalid(_path, $"its \"{name}\" must be a string (images-file YAML), not {Kind(v)}.");
                return v.GetString() ?? string.Empty;
            }

            private static string Shown(JsonElement v) =>
                v.ValueKind == JsonValueKind.Number ? UntrustedText(v.GetRawText()) : v.ValueKind == JsonValueKind.String ? "'" + UntrustedText(v.GetString() ?? "") + "'" : Kind(v);
        }
    }
}
