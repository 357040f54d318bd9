using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Stores;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// Takes an image's referrers (signatures, SBOMs, attestations) along to its destination, and theirs in
    /// turn (a signature of an SBOM). Found at the source by the referrers API where it has one, else by the
    /// referrers tag (<c>sha256-&lt;hex&gt;</c>), and always by cosign's tags. Pushed by digest, content first;
    /// a destination that does not index a referrer itself (no <c>OCI-Subject</c> answer) gets it added to the
    /// subject's referrers tag, merged with the entries already there. A referrer the destination already
    /// lists costs nothing but that listing.
    /// </summary>
    internal sealed class ReferrerCopier
    {
        /// <summary>Referrers of referrers this deep at most (a signature of an SBOM is 2).</summary>
        internal const int MaxDepth = 8;
        /// <summary>Referrers one image may bring along; a registry that lists more is building a maze.</summary>
        internal const int MaxReferrersPerImage = 1000;

        private readonly ImageStores _stores;
        private readonly RequestGates _gate;
        private readonly ImageCopier _images;
        private readonly ReferrerTags _tags;
        private readonly HashSet<string> _artifactTypes;
        private readonly IOciLog _log;
        // One writer per referrers tag at a time: two referrers of one subject must not overwrite each other's entry.
        private readonly ConcurrentDictionary<string, SemaphoreSlim> _tagLocks = new ConcurrentDictionary<string, SemaphoreSlim>(StringComparer.Ordinal);

        public ReferrerCopier(ImageStores stores, RequestGates gate, ImageCopier images, ReferrerTags tags, IEnumerable<string> artifactTypes, IOciLog log)
        {
            _stores = stores;
            _gate = gate;
            _images = images;
            _tags = tags;
            _artifactTypes = new HashSet<string>(artifactTypes, StringComparer.OrdinalIgnoreCase);
            _log = log;
        }

        /// <summary>A referrer found at the source: by a subject's index (API or tag), or by one of cosign's tags.</summary>
        private sealed class Found
        {
            public Found(Digest subject, Descriptor? descriptor, string? tag) { Subject = subject; Descriptor = descriptor; Tag = tag; }
            public Digest Subject { get; }
            public Descriptor? Descriptor { get; }
            public string? Tag { get; }
            public string Key => Tag ?? Descriptor!.Digest.ToString();
        }

        /// <summary>
        /// Copies the referrers of <paramref name="subjects"/> (digests the destination now has, as at the source)
        /// and, level by level, the referrers of those; each lands in <paramref name="work"/> as a manifest result.
        /// </summary>
        public async Task CopyAsync(ImageCopy copy, IReadOnlyList<Digest> subjects, ImageWork work, CancellationToken ct)
        {
            var seen = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
            var followed = new HashSet<Digest>(subjects);
            var level = followed.ToList();
            for (int depth = 0; level.Count > 0; depth++)
            {
                if (depth >= MaxDepth)
                    throw new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: referrers of referrers go more than {MaxDepth} levels deep; the rest are not copied.");
                var next = new ConcurrentBag<Digest>();
                await Task.WhenAll(level.Select(async subject =>
                {
                    var found = await DiscoverAsync(copy, subject, ct).ConfigureAwait(false);
                    if (found.Count == 0) return;
                    var indexed = found.Any(f => f.Tag == null) ? await DestinationReferrersAsync(copy, subject, ct).ConfigureAwait(false) : null;
                    // Referrers the destination did not index itself go into the subject's referrers tag in one write, after all of them are pushed.
                    var unindexed = new List<Manifest>();
                    foreach (var referrer in found)
                    {
                        if (!seen.TryAdd(referrer.Key, 0)) continue;
                        if (seen.Count > MaxReferrersPerImage)
                            throw new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: the image has more than {MaxReferrersPerImage} referrers; the rest are not copied.");
                        var digest = referrer.Tag != null
                            ? await CopyTaggedAsync(copy, referrer, work, ct).ConfigureAwait(false)
                            : await CopyReferrerAsync(copy, referrer, indexed!, unindexed, work, ct).ConfigureAwait(false);
                        if (digest is not null) next.Add(digest);
                    }
                    if (unindexed.Count > 0) await AddToFallbackAsync(_stores.Get(copy.Destination), copy.Destination.Repository, subject, unindexed, ct).ConfigureAwait(false);
                })).ConfigureAwait(false);
                // A registry's tags can point anywhere, round in a circle too: each digest is followed once.
                level = next.Distinct().Where(followed.Add).ToList();
            }
        }

        // ---- finding them at the source ---------------------------------------------------------

        private async Task<List<Found>> DiscoverAsync(ImageCopy copy, Digest subject, CancellationToken ct)
        {
            var src = _stores.Get(copy.Source);
            var repo = copy.Source.Repository;
            var found = new List<Found>();
            var byIndex = await ListAsync(src, repo, subject, ct).ConfigureAwait(false);
            foreach (var d in byIndex)
                if (d.ArtifactType == null || Wanted(d.ArtifactType)) found.Add(new Found(subject, d, null));
            if (subject.Algorithm == "sha256")
                foreach (var suffix in ReferrerTags.CosignSuffixes)
                {
                    var tag = ReferrerTags.FallbackTag(subject) + suffix;
                    if (await HasTagAsync(src, repo, tag, ct).ConfigureAwait(false)) found.Add(new Found(subject, null, tag));
                }
            return found;
        }

        /// <summary>A subject's referrers by the store's API, else by its referrers tag; empty when it has none.</summary>
        private async Task<IReadOnlyList<Descriptor>> ListAsync(IImageStore store, string repository, Digest subject, CancellationToken ct)
        {
            // The filter goes to the registry only when it is one type: the API takes one.
            var filter = _artifactTypes.Count == 1 ? _artifactTypes.First() : null;
            var api = await _gate.RunAsync(store, () => store.ListReferrersAsync(repository, subject, filter, ct), ct).ConfigureAwait(false);
            if (api != null) return api;
            var tag = ReferrerTags.FallbackTag(subject);
            if (!await HasTagAsync(store, repository, tag, ct).ConfigureAwait(false)) return Array.Empty<Descriptor>();
            var index = await _images.FetchAsync(store, repository, tag, ct).ConfigureAwait(false);
            if (!index.IsIndex)
            {
                _log.Write(OciLogLevel.Warning, $"{store.Name}/{repository}:{tag} should be the referrers index of {subject} but is a {index.MediaType}; it is not followed.");
                return Array.Empty<Descriptor>();
            }
            return index.Children;
        }

        /// <summary>
        /// Whether a source tag exists: by the run's one listing of the repository, or by HEAD where the listing
        /// was refused (a credential that may pull tags it names but not list them must not lose the image).
        /// </summary>
        private async Task<bool> HasTagAsync(IImageStore store, string repository, string tag, CancellationToken ct)
        {
            var tags = await _tags.GetAsync(store.Name, repository, () => _gate.RunAsync(store, async () =>
            {
                var listed = new List<string>();
                await foreach (var t in store.ListTagsAsync(repository, ct).ConfigureAwait(false)) listed.Add(t);
                return (IReadOnlyList<string>)listed;
            }, ct, GatePriority.Planning), e => _log.Write(OciLogLevel.Verbose,
                $"{store.Name}/{repository}: the tags could not be listed ({e.Message}); its referrer tags are asked for one by one.")).ConfigureAwait(false);
            if (tags != null) return tags.Contains(tag);
            var head = await _gate.RunAsync(store, () => store.HeadManifestAsync(repository, tag, ct), ct).ConfigureAwait(false);
            return head != null;
        }

        private bool Wanted(string? artifactType) => _artifactTypes.Count == 0 || (artifactType != null && _artifactTypes.Contains(artifactType));

        // ---- the destination ------------------------------------------------------------------------

        /// <summary>What the destination lists as referrers of the subject, and whether it indexes them itself.</summary>
        private sealed class Indexed
        {
            public Indexed(HashSet<Digest> digests, bool byApi) { Digests = digests; ByApi = byApi; }
            public HashSet<Digest> Digests { get; }
            public bool ByApi { get; }
        }

        private async Task<Indexed> DestinationReferrersAsync(ImageCopy copy, Digest subject, CancellationToken ct)
        {
            var dst = _stores.Get(copy.Destination);
            var repo = copy.Destination.Repository;
            var api = await _gate.RunAsync(dst, () => dst.ListReferrersAsync(repo, subject, null, ct), ct).ConfigureAwait(false);
            if (api != null) return new Indexed(new HashSet<Digest>(api.Select(d => d.Digest)), byApi: true);
            var (index, _) = await ReadFallbackAsync(dst, repo, subject, ct).ConfigureAwait(false);
            return new Indexed(new HashSet<Digest>(index?.Children.Select(d => d.Digest) ?? Enumerable.Empty<Digest>()), byApi: false);
        }

        /// <summary>The destination's referrers tag of a subject (null when it has none), read afresh.</summary>
        private async Task<(Manifest? Index, string Tag)> ReadFallbackAsync(IImageStore dst, string repository, Digest subject, CancellationToken ct)
        {
            var tag = ReferrerTags.FallbackTag(subject);
            var head = await _gate.RunAsync(dst, () => dst.HeadManifestAsync(repository, tag, ct), ct).ConfigureAwait(false);
            if (head == null) return (null, tag);
            var index = await _gate.RunAsync(dst, () => dst.GetManifestAsync(repository, tag, ct), ct).ConfigureAwait(false);
            // Never overwritten with something else: a tag of that name that is not an index is somebody else's.
            if (!index.IsIndex)
                throw new RegistryException(ErrorIds.ManifestInvalid, $"{dst.Name}/{repository}:{tag} is a {index.MediaType}, not a referrers index; referrers of {subject} cannot be added to it.");
            return (index, tag);
        }

        // ---- copying them -----------------------------------------------------------------------------

        /// <summary>A referrer with a subject: content, then the manifest by digest; one the destination did not index goes to <paramref name="unindexed"/>, for its referrers tag. Returns its digest to follow, or null when skipped.</summary>
        private async Task<Digest?> CopyReferrerAsync(ImageCopy copy, Found referrer, Indexed indexed, List<Manifest> unindexed, ImageWork work, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var digest = referrer.Descriptor!.Digest;
            var src = _stores.Get(copy.Source);
            var dst = _stores.Get(copy.Destination);
            var manifest = await _images.FetchAsync(src, copy.Source.Repository, digest.ToString(), ct).ConfigureAwait(false);
            // Listed is not proof: only a manifest that names this subject is one of its referrers.
            if (manifest.Subject?.Digest != referrer.Subject)
            {
                _log.Write(OciLogLevel.Warning, $"{copy.Source.WithDigest(digest)} is listed as a referrer of {referrer.Subject} but names {(manifest.Subject == null ? "no subject" : "subject " + manifest.Subject.Digest)}; it is not copied.");
                return null;
            }
            if (!Wanted(manifest.ArtifactType)) return null;
            if (indexed.Digests.Contains(digest))
            {
                work.AddReferrer(Result(copy, referrer, manifest, SyncAction.Unchanged, watch));
                return digest;
            }

            await _images.CopyContentAsync(new ImageCopy(copy.Source.WithDigest(digest), copy.Destination.WithDigest(digest), copy.Rule), manifest, work, ct).ConfigureAwait(false);
            var byApi = await _gate.RunAsync(dst, () => dst.PutReferrerAsync(copy.Destination.Repository, manifest, ct), ct).ConfigureAwait(false);
            if (!byApi) unindexed.Add(manifest);
            work.AddReferrer(Result(copy, referrer, manifest, SyncAction.Synced, watch));
            return digest;
        }

        /// <summary>One of cosign's tags: copied as a tag (it moves when another signature is added), content first.</summary>
        private async Task<Digest?> CopyTaggedAsync(ImageCopy copy, Found referrer, ImageWork work, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var tag = referrer.Tag!;
            var src = _stores.Get(copy.Source);
            var dst = _stores.Get(copy.Destination);
            var srcRepo = copy.Source.Repository;
            var dstRepo = copy.Destination.Repository;
            var sourceHead = _gate.RunAsync(src, () => src.HeadManifestAsync(srcRepo, tag, ct), ct);
            var destinationHead = _gate.RunAsync(dst, () => dst.HeadManifestAsync(dstRepo, tag, ct), ct);
            await Task.WhenAll(sourceHead, destinationHead).ConfigureAwait(false);
            var sourceDigest = (await sourceHead.ConfigureAwait(false))?.Digest;
            var destinationDigest = (await destinationHead.ConfigureAwait(false))?.Digest;

            // The filter needs the manifest; without one an unchanged tag costs no GET.
            Manifest? manifest = null;
            if (_artifactTypes.Count > 0 || sourceDigest is null || sourceDigest != destinationDigest)
                manifest = await _images.FetchAsync(src, srcRepo, sourceDigest?.ToString() ?? tag, ct).ConfigureAwait(false);
            if (manifest != null && !Wanted(CosignType(manifest))) return null;
            if (manifest == null)
            {
                work.AddReferrer(Result(copy, referrer, null, SyncAction.Unchanged, watch, sourceDigest));
                return sourceDigest;
            }
            if (manifest.Digest == destinationDigest)
            {
                work.AddReferrer(Result(copy, referrer, manifest, SyncAction.Unchanged, watch));
                return manifest.Digest;
            }
            await _images.CopyContentAsync(new ImageCopy(copy.Source.WithDigest(manifest.Digest), copy.Destination.WithTag(tag), copy.Rule), manifest, work, ct).ConfigureAwait(false);
            await _gate.RunAsync(dst, () => dst.PutManifestAsync(dstRepo, tag, manifest, child: false, ct), ct).ConfigureAwait(false);
            work.AddReferrer(Result(copy, referrer, manifest, SyncAction.Synced, watch));
            return manifest.Digest;
        }

        /// <summary>cosign's tagged manifests carry no artifact type; the type of their first layer says what they hold.</summary>
        internal static string? CosignType(Manifest manifest) =>
            manifest.Layers.Count > 0 && manifest.Layers[0].MediaType.Length > 0 ? manifest.Layers[0].MediaType : manifest.ArtifactType;

        /// <summary>Adds the referrers to the subject's referrers tag at the destination, keeping every entry already there.</summary>
        private async Task AddToFallbackAsync(IImageStore dst, string repository, Digest subject, IReadOnlyList<Manifest> referrers, CancellationToken ct)
        {
            var key = dst.Name + "/" + repository + "@" + subject;
            var gate = _tagLocks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                // Read again under the lock: another image of this run may have written the tag since.
                var (existing, tag) = await ReadFallbackAsync(dst, repository, subject, ct).ConfigureAwait(false);
                var merged = existing;
                foreach (var referrer in referrers)
                    if (merged == null || !merged.Children.Any(c => c.Digest == referrer.Digest)) merged = MergeFallback(merged, referrer);
                if (merged == existing || merged == null) return;
                await _gate.RunAsync(dst, () => dst.PutManifestAsync(repository, tag, merged, child: false, ct), ct).ConfigureAwait(false);
                _log.Write(OciLogLevel.Verbose, $"{dst.Name}/{repository}:{tag}: referrers index now has {merged.Children.Count} entr{(merged.Children.Count == 1 ? "y" : "ies")}.");
            }
            finally
            {
                gate.Release();
            }
        }

        /// <summary>The referrers index with the referrer's descriptor added (as the referrers API would list it); the entries already there stay as written.</summary>
        internal static Manifest MergeFallback(Manifest? existing, Manifest referrer)
        {
            var root = existing != null ? JsonNode.Parse(existing.Bytes)!.AsObject() : new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciIndex };
            if (!(root["manifests"] is JsonArray entries))
            {
                entries = new JsonArray();
                root["manifests"] = entries;
            }
            var entry = new JsonObject
            {
                ["mediaType"] = referrer.MediaType,
                ["digest"] = referrer.Digest.ToString(),
                ["size"] = referrer.Size,
            };
            if (referrer.ArtifactType != null) entry["artifactType"] = referrer.ArtifactType;
            if (referrer.Annotations is { Count: > 0 } annotations)
            {
                var a = new JsonObject();
                foreach (var pair in annotations) a[pair.Key] = pair.Value;
                entry["annotations"] = a;
            }
            entries.Add(entry);
            var mediaType = existing?.MediaType ?? MediaTypes.OciIndex;
            return Manifest.Parse(Encoding.UTF8.GetBytes(root.ToJsonString()), mediaType);
        }

        private static ManifestResult Result(ImageCopy copy, Found referrer, Manifest? manifest, string action, Stopwatch watch, Digest? digest = null)
        {
            var d = manifest?.Digest ?? digest ?? referrer.Descriptor?.Digest;
            return new ManifestResult
            {
                Source = referrer.Tag != null ? copy.Source.WithTag(referrer.Tag).ToString() : copy.Source.WithDigest(d).ToString(),
                Destination = referrer.Tag != null ? copy.Destination.WithTag(referrer.Tag).ToString() : copy.Destination.WithDigest(d).ToString(),
                Digest = d?.ToString(),
                SourceDigest = d?.ToString(),
                MediaType = manifest?.MediaType ?? referrer.Descriptor?.MediaType,
                Subject = referrer.Subject.ToString(),
                ArtifactType = manifest == null ? referrer.Descriptor?.ArtifactType : referrer.Tag != null ? CosignType(manifest) : manifest.ArtifactType,
                Action = action,
                Seconds = watch.Elapsed.TotalSeconds,
            };
        }
    }
}
