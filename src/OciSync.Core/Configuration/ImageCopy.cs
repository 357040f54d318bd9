using System;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// One concrete copy: a source image (tag or digest) to a destination image, as a rule expands to
    /// or as made directly. Once planned it also carries the digests the planner's HEADs found, so the
    /// copier need not ask again. Immutable: planning returns a new copy (<see cref="WithPlan"/>).
    /// Two copies are the same copy when source and destination are, whichever rules named them.
    /// </summary>
    public sealed class ImageCopy : IEquatable<ImageCopy>
    {
        /// <param name="destination">Without a tag or digest, the destination takes the source's.</param>
        /// <param name="rule">The rule text the copy came from, for results, errors and output files.</param>
        public ImageCopy(ImageReference source, ImageReference destination, string? rule = null) : this(source, destination, rule, null) { }

        /// <param name="selection">The rule's selection: shown by the plan, and its platform list applies to this copy.</param>
        public ImageCopy(ImageReference source, ImageReference destination, string? rule, TagSelection? selection)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (destination == null) throw new ArgumentNullException(nameof(destination));
            if (source.ApiReference == null) throw new ArgumentException($"The source '{source}' names no tag or digest.", nameof(source));
            Source = source;
            Destination = destination.ApiReference != null ? destination
                : source.Tag != null ? destination.WithTag(source.Tag) : destination.WithDigest(source.Digest);
            Rule = rule;
            Selection = selection ?? TagSelection.None;
            Key = Source + " -> " + Destination;
        }

        private ImageCopy(ImageCopy copy, Digest? sourceDigest, Digest? destinationDigest, bool planned)
        {
            Source = copy.Source;
            Destination = copy.Destination;
            Rule = copy.Rule;
            Selection = copy.Selection;
            Key = copy.Key;
            SourceDigest = sourceDigest;
            DestinationDigest = destinationDigest;
            Planned = planned;
            Shard = copy.Shard;
            Size = copy.Size;
        }

        private ImageCopy(ImageCopy copy, int? shard, long? size) : this(copy, copy.SourceDigest, copy.DestinationDigest, copy.Planned)
        {
            Shard = shard;
            Size = size;
        }

        /// <summary>The source image; it always names a tag or digest.</summary>
        public ImageReference Source { get; }
        /// <summary>The destination image; it always names a tag or digest (the source's when none was given).</summary>
        public ImageReference Destination { get; }
        /// <summary>The rule text this copy came from (null when made directly).</summary>
        public string? Rule { get; }
        /// <summary>How the rule chose this image (exclude, semver, latest, platforms); <see cref="TagSelection.None"/> for a plain rule.</summary>
        public TagSelection Selection { get; }
        /// <summary>The rule's platform list for this copy (with the run's -OS/-Arch, both must keep a platform); null for none.</summary>
        public RulePlatforms? Platforms => Selection.Platforms;
        /// <summary>The source's digest as the planner's HEAD found it.</summary>
        public Digest? SourceDigest { get; }
        /// <summary>The destination's digest as the planner's HEAD found it; null when it has no such image (or it was not asked).</summary>
        public Digest? DestinationDigest { get; }
        /// <summary>True when the digests are known from planning; the copier then trusts them instead of asking again.</summary>
        public bool Planned { get; }
        /// <summary>The destination already holds the source's digest (known after planning).</summary>
        public bool UpToDate => SourceDigest is not null && SourceDigest == DestinationDigest;

        /// <summary>The shard (from 0) this copy belongs to when the job is split (<see cref="Sync.ShardSpec"/>); null when it is not.</summary>
        public int? Shard { get; }
        /// <summary>Bytes the copy moves at most (the source's config and layers, of every platform kept), when measured; null when not known.</summary>
        public long? Size { get; }

        /// <summary>This copy assigned to <paramref name="shard"/> (null: to none).</summary>
        public ImageCopy WithShard(int? shard) => new ImageCopy(this, shard, Size);

        /// <summary>This copy with its measured <paramref name="size"/> (null: not known).</summary>
        public ImageCopy WithSize(long? size) => new ImageCopy(this, Shard, size);

        /// <summary>Source and destination: one copy however many rules name it.</summary>
        internal string Key { get; }

        /// <summary>This copy with what planning found. Without a source digest (some registries omit it) it stays unplanned, and the copier decides after a GET.</summary>
        public ImageCopy WithPlan(Digest? sourceDigest, Digest? destinationDigest) =>
            new ImageCopy(this, sourceDigest, destinationDigest, planned: sourceDigest is not null);

        /// <summary>This copy with planning forgotten, so a retry pass asks again.</summary>
        public ImageCopy Unplanned() => new ImageCopy(this, null, null, planned: false);

        /// <summary><c>source -> destination</c>.</summary>
        public override string ToString() => Key;
        /// <summary>True when <paramref name="other"/> has the same source and destination (rule and plan are not compared).</summary>
        public bool Equals(ImageCopy? other) => other is not null && string.Equals(other.Key, Key, StringComparison.Ordinal);
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is ImageCopy c && Equals(c);
        /// <inheritdoc/>
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);
    }
}
