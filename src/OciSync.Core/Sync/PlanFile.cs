using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>A plan file that cannot be read or is not a valid plan: names the file and the problem.</summary>
    public sealed class PlanFileException : Exception, IHasErrorId
    {
        internal PlanFileException(string file, string problem, Exception? inner = null)
            : base($"The plan file '{file}' is not a valid {PlanFile.FormatName} plan: {problem}", inner)
        {
            File = file;
            Problem = problem;
        }

        /// <summary><see cref="ErrorIds.PlanFileInvalid"/>.</summary>
        public string ErrorId => ErrorIds.PlanFileInvalid;
        /// <summary>The file as given.</summary>
        public string File { get; }
        /// <summary>What is wrong, with the JSON path of the value (<c>copies[3].source</c>).</summary>
        public string Problem { get; }
    }

    /// <summary>
    /// Export-SyncPlan's file, read by <c>Invoke-ImageSync -PlanPath</c>: JSON, UTF-8,
    /// <c>{ "format": "ocisync-plan/1", "created": ISO 8601 UTC, "shardCount": n, "balance": "Hash"|"Size",
    /// "copies": [ { "source", "destination", "rule" (or null), "platforms" (["linux/amd64", ...] or null),
    /// "sourceDigest", "destinationDigest" (or null), "size" (bytes or null), "shard" (0..n-1) } ] }</c>.
    /// A plan file may come from anywhere, so reading is strict: an unknown field, a reference or digest that breaks the
    /// grammar, a copy given twice or a file over <see cref="MaxFileBytes"/> makes the whole file invalid.
    /// </summary>
    public sealed class PlanFile
    {
        /// <summary>The value of <c>format</c>; another version is refused rather than half understood.</summary>
        public const string FormatName = "ocisync-plan/1";
        /// <summary>The largest plan file read (64 MiB: some 200,000 copies).</summary>
        public const long MaxFileBytes = 64L * 1024 * 1024;
        /// <summary>How long a read may take before the file counts as unreadable (a FIFO nobody writes).</summary>
        internal static TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);
        /// <summary>The longest rule text kept (a rule is one line of an images file).</summary>
        public const int MaxRuleLength = 4096;

        /// <param name="copies">Each with its <see cref="ImageCopy.Shard"/> set, from 0 to <paramref name="shardCount"/> - 1.</param>
        public PlanFile(IReadOnlyList<ImageCopy> copies, int shardCount, PlanBalance balance, DateTime created)
        {
            if (copies == null) throw new ArgumentNullException(nameof(copies));
            if (shardCount < 1 || shardCount > ShardSpec.MaxCount) throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, $"A shard count is from 1 to {ShardSpec.MaxCount}.");
            foreach (var copy in copies)
            {
                if (copy.Shard is not { } shard || shard < 0 || shard >= shardCount) throw new ArgumentException($"{copy}: its shard ({copy.Shard?.ToString(CultureInfo.InvariantCulture) ?? "none"}) is not from 0 to {shardCount - 1}.", nameof(copies));
                if (copy.Size is { } size && (size < 0 || size > PlanSizes.MaxBytes)) throw new ArgumentException($"{copy}: its size {size} is not from 0 to {PlanSizes.MaxBytes}.", nameof(copies));
            }
            Copies = copies;
            ShardCount = shardCount;
            Balance = balance;
            Created = created.ToUniversalTime();
        }

        /// <summary>The copies, each with its shard, size (when measured) and the digests planning found.</summary>
        public IReadOnlyList<ImageCopy> Copies { get; }
        /// <summary>How many shards the plan is split into.</summary>
        public int ShardCount { get; }
        /// <summary>How the copies were assigned to shards.</summary>
        public PlanBalance Balance { get; }
        /// <summary>When the plan was made (UTC).</summary>
        public DateTime Created { get; }

        /// <summary>The copies of shard <paramref name="index"/>, in the file's order.</summary>
        public IReadOnlyList<ImageCopy> CopiesOf(int index) => Copies.Where(c => c.Shard == index).ToList();

        /// <summary>Writes the plan to <paramref name="path"/> through a temporary file beside it, so a reader never sees half a plan.</summary>
        public void Write(string path)
        {
            var full = Path.GetFullPath(path);
            var temp = full + ".tmp-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    WriteTo(stream);
                if (System.IO.File.Exists(full)) System.IO.File.Replace(temp, full, null);
                else System.IO.File.Move(temp, full);
            }
            finally
            {
                if (System.IO.File.Exists(temp)) System.IO.File.Delete(temp);
            }
        }

        /// <summary>The plan as JSON (indented UTF-8).</summary>
        public void WriteTo(Stream stream)
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteString("created", Created.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("shardCount", ShardCount);
            w.WriteString("balance", Balance.ToString());
            w.WriteStartArray("copies");
            foreach (var c in Copies)
            {
                w.WriteStartObject();
                w.WriteString("source", c.Source.ToString());
                w.WriteString("destination", c.Destination.ToString());
                if (c.Rule != null) w.WriteString("rule", c.Rule); else w.WriteNull("rule");
                if (c.Platforms != null)
                {
                    w.WriteStartArray("platforms");
                    foreach (var p in c.Platforms.Spelled) w.WriteStringValue(p);
                    w.WriteEndArray();
                }
                else w.WriteNull("platforms");
                if (c.SourceDigest is { } sd) w.WriteString("sourceDigest", sd.ToString()); else w.WriteNull("sourceDigest");
                if (c.DestinationDigest is { } dd) w.WriteString("destinationDigest", dd.ToString()); else w.WriteNull("destinationDigest");
                if (c.Size is { } size) w.WriteNumber("size", size); else w.WriteNull("size");
                w.WriteNumber("shard", c.Shard!.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }

        /// <summary>Reads and validates a plan file; anything wrong is a <see cref="PlanFileException"/> naming <paramref name="path"/>.</summary>
        /// <param name="displayName">How errors name the file (as the user wrote it); default <paramref name="path"/>.</param>
        public static PlanFile Read(string path, string? displayName = null)
        {
            var name = displayName ?? path;
            byte[] bytes;
            try
            {
                bytes = BoundedFileReader.Read(path, MaxFileBytes, ReadTimeout);
            }
            catch (TimeoutException e)
            {
                throw new PlanFileException(name, $"it could not be read within {ReadTimeout.TotalSeconds:0} s (not a regular file?).", e);
            }
            catch (InvalidDataException e)
            {
                throw new PlanFileException(name, $"a plan file is at most {MaxFileBytes} bytes, and this one is larger.", e);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException || e is System.Security.SecurityException)
            {
                throw new PlanFileException(name, "it cannot be read (" + e.Message + ").", e);
            }
            return Parse(bytes, name);
        }

        /// <summary>Validates plan JSON; <paramref name="name"/> names the file in errors.</summary>
        public static PlanFile Parse(byte[] json, string name)
        {
            if (json == null) throw new ArgumentNullException(nameof(json));
            if (json.LongLength > MaxFileBytes) throw new PlanFileException(name, $"it is {json.LongLength} bytes; a plan file is at most {MaxFileBytes} bytes.");
            try
            {
                using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
                return FromJson(doc.RootElement, name);
            }
            catch (JsonException e)
            {
                throw new PlanFileException(name, $"it is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
            }
        }

        private static readonly string[] TopFields = { "format", "created", "shardCount", "balance", "copies" };
        private static readonly string[] CopyFields = { "source", "destination", "rule", "platforms", "sourceDigest", "destinationDigest", "size", "shard" };

        private static PlanFile FromJson(JsonElement root, string name)
        {
            PlanFileException Bad(string problem) => new PlanFileException(name, problem);
            if (root.ValueKind != JsonValueKind.Object) throw Bad("it is not a JSON object.");
            CheckFields(root, TopFields, string.Empty, Bad);
            var format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (format != FormatName) throw Bad($"format is {(format == null ? "missing" : UntrustedText.Quote(format))}, not \"{FormatName}\".");

            var created = DateTime.MinValue;
            if (root.TryGetProperty("created", out var cr) && cr.ValueKind != JsonValueKind.Null)
            {
                if (cr.ValueKind != JsonValueKind.String || !DateTime.TryParse(cr.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out created))
                    throw Bad("created is not an ISO 8601 time.");
            }
            var shardCount = Int(root, "shardCount", string.Empty, 1, ShardSpec.MaxCount, Bad) ?? throw Bad("shardCount is missing.");
            var balanceText = root.TryGetProperty("balance", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
            if (!string.Equals(balanceText, "Hash", StringComparison.Ordinal) && !string.Equals(balanceText, "Size", StringComparison.Ordinal))
                throw Bad($"balance is {(balanceText == null ? "missing" : UntrustedText.Quote(balanceText))}, not \"Hash\" or \"Size\".");
            var balance = balanceText == "Size" ? PlanBalance.Size : PlanBalance.Hash;

            if (!root.TryGetProperty("copies", out var list) || list.ValueKind != JsonValueKind.Array) throw Bad("copies is not an array.");
            var copies = new List<ImageCopy>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                var at = $"copies[{i++}]";
                if (item.ValueKind != JsonValueKind.Object) throw Bad($"{at} is not an object.");
                CheckFields(item, CopyFields, at + ".", Bad);
                var source = Reference(item, "source", at, Bad);
                var destination = Reference(item, "destination", at, Bad);
                var rule = Text(item, "rule", at, Bad);
                if (rule != null && (rule.Length > MaxRuleLength || rule.Any(char.IsControl))) throw Bad($"{at}.rule is longer than {MaxRuleLength} characters or holds control characters.");

                var selection = TagSelection.None;
                if (item.TryGetProperty("platforms", out var ps) && ps.ValueKind != JsonValueKind.Null)
                {
                    if (ps.ValueKind != JsonValueKind.Array || ps.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.String)) throw Bad($"{at}.platforms is not null or an array of strings.");
                    var entries = ps.EnumerateArray().Select(p => p.GetString()).ToList();
                    if (entries.Count == 0) throw Bad($"{at}.platforms is an empty list (write null for all platforms).");
                    if (!TagSelection.TryCreate(new TagSelectionSpec { Platforms = entries! }, out selection, out _, out var why) || selection.Platforms == null)
                        throw Bad($"{at}.platforms: {why}");
                }

                var sourceDigest = DigestOf(item, "sourceDigest", at, Bad);
                var destinationDigest = DigestOf(item, "destinationDigest", at, Bad);
                var size = Long(item, "size", at, 0, PlanSizes.MaxBytes, Bad);
                var shard = Int(item, "shard", at, 0, shardCount - 1, Bad) ?? throw Bad($"{at}.shard is missing.");

                ImageCopy copy;
                try { copy = new ImageCopy(source, destination, rule, selection); }
                catch (ArgumentException e) { throw Bad($"{at}: {e.Message}"); }
                if (destination.ApiReference == null) throw Bad($"{at}.destination names no tag or digest.");
                if (!keys.Add(copy.Key)) throw Bad($"{at} ({copy}) is in the plan twice.");
                copies.Add(copy.WithPlan(sourceDigest, destinationDigest).WithShard(shard).WithSize(size));
            }
            return new PlanFile(copies, shardCount, balance, created);
        }

        private static void CheckFields(JsonElement obj, string[] allowed, string at, Func<string, PlanFileException> bad)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in obj.EnumerateObject())
            {
                if (!allowed.Contains(p.Name, StringComparer.Ordinal)) throw bad($"{at}{UntrustedText.Quote(p.Name)} is not a field of a plan.");
                if (!seen.Add(p.Name)) throw bad($"{at}{p.Name} is given twice.");
            }
        }

        private static string? Text(JsonElement obj, string field, string at, Func<string, PlanFileException> bad)
        {
            if (!obj.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw bad($"{PathOf(at, field)} is not a string.");
            return v.GetString();
        }

        private static ImageReference Reference(JsonElement obj, string field, string at, Func<string, PlanFileException> bad)
        {
            var text = Text(obj, field, at, bad) ?? throw bad($"{PathOf(at, field)} is missing.");
            // The normal grammar, as if typed: a plan file cannot name what an images file could not.
            if (!ImageReference.TryParse(text, out var reference, out var problem)) throw bad($"{PathOf(at, field)}: {problem}");
            return reference!;
        }

        private static Digest? DigestOf(JsonElement obj, string field, string at, Func<string, PlanFileException> bad)
        {
            var text = Text(obj, field, at, bad);
            if (text == null) return null;
            if (!Digest.TryParse(text, out var digest, out var problem)) throw bad($"{PathOf(at, field)}: {problem}");
            return digest;
        }

        private static long? Long(JsonElement obj, string field, string at, long min, long max, Func<string, PlanFileException> bad)
        {
            if (!obj.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n) || n < min || n > max)
                throw bad($"{PathOf(at, field)} is {UntrustedText.Quote(Shorten(v.GetRawText()))}, not a whole number from {min} to {max}.");
            return n;
        }

        private static int? Int(JsonElement obj, string field, string at, int min, int max, Func<string, PlanFileException> bad) =>
            (int?)Long(obj, field, at, min, max, bad);

        /// <summary>The JSON path of a field: <c>copies[3].source</c>, or <c>shardCount</c> at the top.</summary>
        private static string PathOf(string at, string field) => at.Length == 0 ? field : at + "." + field;

        private static string Shorten(string text) => text.Length <= 40 ? text : text.Substring(0, 40) + "…";
    }
}
