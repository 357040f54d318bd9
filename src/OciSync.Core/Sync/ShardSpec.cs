using System;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OciSync.Core.References;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// One worker's part of a job split across <see cref="Count"/> workers (Kubernetes Indexed Jobs, child runbooks,
    /// CI matrices) with no coordinator: every image copy belongs to the shard its destination repository hashes to,
    /// so all tags of a repository, its blob mounts and in-run dedupe stay with one worker.
    /// The hash, fixed for every platform and version: the first 8 bytes of SHA-256 over the UTF-8 of
    /// <c>registry/repository</c> (registry lower-cased; a layout or archive destination: its <c>oci:PATH</c>),
    /// read as a big-endian unsigned 64-bit number, modulo <see cref="Count"/>.
    /// </summary>
    public sealed class ShardSpec
    {
        /// <summary>The environment variable a Kubernetes Indexed Job sets to each pod's index.</summary>
        public const string JobCompletionIndexVariable = "JOB_COMPLETION_INDEX";

        /// <summary>The most shards a job may be split into.</summary>
        public const int MaxCount = 10000;

        /// <param name="index">This worker's shard, from 0 to <paramref name="count"/> - 1.</param>
        public ShardSpec(int index, int count)
        {
            if (count < 1 || count > MaxCount) throw new ArgumentOutOfRangeException(nameof(count), count, $"A shard count is from 1 to {MaxCount}.");
            if (index < 0 || index >= count) throw new ArgumentOutOfRangeException(nameof(index), index, $"A shard index is from 0 to {count - 1} for {count} shards.");
            Index = index;
            Count = count;
        }

        /// <summary>This worker's shard, from 0.</summary>
        public int Index { get; }
        /// <summary>How many shards the job is split into.</summary>
        public int Count { get; }

        /// <summary>True when the copy to <paramref name="destination"/> (its repository; tag and digest do not count) is this shard's.</summary>
        public bool Owns(ImageReference destination) => ShardOf(destination, Count) == Index;

        /// <summary>The shard, from 0 to <paramref name="count"/> - 1, that copies into <paramref name="destination"/>'s repository.</summary>
        public static int ShardOf(ImageReference destination, int count)
        {
            if (destination == null) throw new ArgumentNullException(nameof(destination));
            if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
            return ShardOf(KeyOf(destination), count);
        }

        /// <summary>The shard of a repository key as <see cref="KeyOf"/> spells it.</summary>
        public static int ShardOf(string key, int count)
        {
            byte[] hash;
            using (var sha = SHA256.Create()) hash = sha.ComputeHash(Encoding.UTF8.GetBytes(key));
            ulong value = 0;
            for (int i = 0; i < 8; i++) value = (value << 8) | hash[i];
            return (int)(value % (ulong)count);
        }

        /// <summary>What is hashed: <c>registry/repository</c> with the registry lower-cased, or a layout's or archive's own name.</summary>
        public static string KeyOf(ImageReference destination) =>
            destination.IsRegistry ? destination.Registry.ToLowerInvariant() + "/" + destination.Repository : destination.Registry;

        /// <summary><c>shard 3 of 8</c> (numbered from 0, as the index is given).</summary>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "shard {0} of {1}", Index, Count);
    }
}
