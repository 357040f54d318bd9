using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// -Prune, once a run's copies are done: for each rule that lists its source and whose copies all
    /// succeeded, lists the source again and each destination repository, and deletes the destination tags
    /// the rule would produce from a tag the source no longer has (<see cref="PruneSelection.Stale"/>),
    /// each approved first. Nothing is deleted when the source listing fails.
    /// <para>
    /// A tag goes by <c>DELETE /v2/NAME/manifests/TAG</c> where the registry supports it (OCI distribution
    /// 1.1). Distribution 2.8 refuses a tag (400 DIGEST_INVALID) and deletes only by digest, which removes
    /// the manifest and every tag pointing to it: then the repository's kept tags are HEADed (and the kept
    /// indexes read), and a digest that a kept tag has, or that a kept index lists as a child, is not
    /// deleted — the stale tag stays, as a <see cref="SyncAction.Kept"/> result saying why.
    /// </para>
    /// </summary>
    internal sealed class Pruner
    {
        private readonly ImageStores _stores;
        private readonly RequestGates _gate;
        private readonly IOciLog _log;
        private readonly SecretScrubber _scrubber;
        private readonly Func<ImageReference, bool>? _approve;
        private readonly Action<ImageResult, SyncRule> _emit;
        private readonly int _pass;
        private readonly ShardSpec? _shard;
        // Destination tags already decided in this run (two rules naming one repository decide each tag once).
        private readonly HashSet<string> _decided = new HashSet<string>(StringComparer.Ordinal);
        // Stores that refused a tag DELETE: the rest of the run deletes there by digest straight away.
        private readonly HashSet<string> _byDigestOnly = new HashSet<string>(StringComparer.Ordinal);
        private int _declined;

        /// <param name="shard">Only this shard's repositories are pruned (the rules given are cut to it already; a catalog rule's repositories are cut here).</param>
        public Pruner(ImageStores stores, RequestGates gate, SecretScrubber scrubber, Func<ImageReference, bool>? approve, int pass, Action<ImageResult, SyncRule> emit,
            ShardSpec? shard = null)
        {
            _shard = shard;
            _stores = stores;
            _gate = gate;
            _log = stores.Registries.Log;
            _scrubber = scrubber;
            _approve = approve;
            _pass = pass;
            _emit = emit;
        }

        /// <summary>Stale tags -Confirm or -WhatIf kept.</summary>
        public int Declined => _declined;

        /// <summary>
        /// Prunes the destinations of one rule. <paramref name="failed"/> tells whether any of the copies the rule
        /// produces (given as they expand from the fresh listing) or the rule itself failed in the run: then nothing
        /// is deleted. <paramref name="produced"/> are the destinations every rule of the run produced: never stale.
        /// </summary>
        public async Task PruneAsync(SyncRule rule, Func<SyncRule, IReadOnlyList<ImageCopy>?, bool> failed, ISet<string> produced, CancellationToken ct)
        {
            if (!PruneSelection.CanPrune(rule))
            {
                _log.Write(OciLogLevel.Verbose, $"Rule '{rule}': names its tags or digest, so it prunes nothing.");
                return;
            }
            if (failed(rule, null))
            {
                _log.Write(OciLogLevel.Warning, $"Rule '{rule}': not pruned, because its listing or some of its images failed in this run; no tag was deleted.");
                return;
            }
            var start = DateTime.UtcNow;
            if (rule.IsCatalog)
            {
                await PruneCatalogAsync(rule, failed, produced, start, ct).ConfigureAwait(false);
                return;
            }
            IReadOnlyList<string> sourceTags;
            try
            {
                sourceTags = await ListAsync(rule.SourceRepository, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                // A listing that failed, or stopped part way, says nothing about what the source no longer has.
                var error = _scrubber.Scrub(e);
                _log.Write(OciLogLevel.Warning, $"Rule '{rule}': not pruned, because listing {rule.SourceRepository.RepositoryName} failed; no tag was deleted.");
                Emit(rule, Result(rule, rule.SourceRepository.RepositoryName, string.Join(", ", rule.Targets.Select(t => t.Repository.RepositoryName)), null, SyncAction.Failed, start,
                    ErrorIds.Of(error), $"Not pruned: listing the source failed: {error.Message}"));
                return;
            }
            if (failed(rule, rule.Expand(sourceTags).ToList()))
            {
                _log.Write(OciLogLevel.Warning, $"Rule '{rule}': not pruned, because some of its images failed in this run; no tag was deleted.");
                return;
            }

            foreach (var target in rule.Targets)
            {
                ct.ThrowIfCancellationRequested();
                if (target.Tags.Count > 0 || target.Digest is not null) continue; // a listing rule's destinations keep the source tags
                await PruneTargetAsync(rule, target.Repository, sourceTags, produced, ct).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// A '/*' rule prunes as each of its repositories' rules does, from the catalog as it is now. A repository
        /// gone from the source's catalog keeps its mirror: -Prune removes tags, never whole repositories.
        /// </summary>
        private async Task PruneCatalogAsync(SyncRule rule, Func<SyncRule, IReadOnlyList<ImageCopy>?, bool> failed, ISet<string> produced, DateTime start, CancellationToken ct)
        {
            IReadOnlyList<SyncRule> repositories;
            try
            {
                var lister = _stores.Registries.Get(rule.SourceRepository.Registry, rule.CatalogPrefix!);
                var names = await _gate.RunAsync(lister, async () =>
                {
                    var listed = new List<string>();
                    await foreach (var name in lister.ListRepositoriesAsync(ct).ConfigureAwait(false)) listed.Add(name);
                    return (IReadOnlyList<string>)listed;
                }, ct, GatePriority.Planning).ConfigureAwait(false);
                // Another shard's repositories are that shard's to prune.
                repositories = _shard.Restrict(rule.ExpandCatalog(names));
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                var error = _scrubber.Scrub(e);
                _log.Write(OciLogLevel.Warning, $"Rule '{rule}': not pruned, because listing the catalog of {rule.SourceRepository.Registry} failed; no tag was deleted.");
                Emit(rule, Result(rule, rule.ListedName, string.Join(", ", rule.Targets.Select(t => t.ToString())), null, SyncAction.Failed, start,
                    ErrorIds.Of(error), $"Not pruned: listing the catalog failed: {error.Message}"));
                return;
            }
            foreach (var repository in repositories) await PruneAsync(repository, failed, produced, ct).ConfigureAwait(false);
        }

        private async Task PruneTargetAsync(SyncRule rule, ImageReference repository, IReadOnlyList<string> sourceTags, ISet<string> produced, CancellationToken ct)
        {
            var start = DateTime.UtcNow;
            var store = _stores.Get(repository);
            IReadOnlyList<string> destinationTags;
            try
            {
                destinationTags = await ListAsync(repository, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (ErrorIds.Of(e) == ErrorIds.RepositoryNotFound)
            {
                return; // no such repository: nothing in it to prune
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                var error = _scrubber.Scrub(e);
                Emit(rule, Result(rule, rule.SourceRepository.RepositoryName, repository.RepositoryName, null, SyncAction.Failed, start, ErrorIds.Of(error),
                    $"Not pruned: listing the destination failed: {error.Message}"));
                return;
            }

            var stale = new List<ImageCopy>();
            foreach (var copy in PruneSelection.Stale(rule, repository, sourceTags, destinationTags))
            {
                // A referrers tag (sha256-<hex>, cosign's .sig/.att/.sbom) is not the rule's image: it may hold the
                // destination's own referrers, and it goes with its image, not with the source's tag list.
                if (ReferrerTags.IsSchemaTag(copy.Destination.Tag)) continue;
                var key = copy.Destination.ToString();
                if (produced.Contains(key)) continue; // another rule of this run still produces it
                lock (_decided) if (!_decided.Add(key)) continue;
                stale.Add(copy);
            }
            if (stale.Count == 0)
            {
                _log.Write(OciLogLevel.Verbose, $"Rule '{rule}': {repository.RepositoryName} has no stale tag.");
                return;
            }
            _log.Write(OciLogLevel.Information, $"Rule '{rule}': {stale.Count} stale tag(s) in {repository.RepositoryName}: {string.Join(", ", stale.Take(10).Select(c => c.Destination.Tag))}{(stale.Count > 10 ? ", ..." : "")}.");

            if (!(store is IManifestDeleter deleter))
            {
                foreach (var copy in stale)
                    Emit(rule, Result(rule, copy, null, SyncAction.Failed, start, ErrorIds.RegistryDeleteUnsupported,
                        $"{repository.RepositoryName} is an OCI layout or archive, whose tags -Prune does not delete; the tag was kept."));
                return;
            }

            var approved = new List<ImageCopy>();
            foreach (var copy in stale)
            {
                if (_approve == null || _approve(copy.Destination)) approved.Add(copy);
                else Interlocked.Increment(ref _declined);
            }
            if (approved.Count == 0) return;
            await new RepositoryPrune(this, rule, store, deleter, repository, destinationTags, approved).RunAsync(ct).ConfigureAwait(false);
        }

        private async Task<IReadOnlyList<string>> ListAsync(ImageReference repository, CancellationToken ct)
        {
            var store = _stores.Get(repository);
            return await _gate.RunAsync(store, async () =>
            {
                var tags = new List<string>();
                await foreach (var tag in store.ListTagsAsync(repository.Repository, ct).ConfigureAwait(false)) tags.Add(tag);
                return (IReadOnlyList<string>)tags;
            }, ct, GatePriority.Planning).ConfigureAwait(false);
        }

        private void Emit(SyncRule rule, ImageResult result) => _emit(result, rule);

        private ImageResult Result(SyncRule rule, ImageCopy copy, Digest? digest, string action, DateTime start, string? errorId = null, string? error = null) =>
            Result(rule, copy.Source.ToString(), copy.Destination.ToString(), digest, action, start, errorId, error);

        private ImageResult Result(SyncRule rule, string source, string destination, Digest? digest, string action, DateTime start, string? errorId, string? error)
        {
            var end = DateTime.UtcNow;
            return new ImageResult
            {
                Action = action,
                Source = source,
                Destination = destination,
                Digest = digest?.ToString(),
                Rule = rule.ToString(),
                Phase = SyncPhase.Pruning,
                Pass = _pass,
                StartTime = start,
                EndTime = end,
                Seconds = (end - start).TotalSeconds,
                ErrorId = errorId,
                Error = error,
            };
        }

        /// <summary>The approved stale tags of one destination repository, deleted one digest at a time.</summary>
        private sealed class RepositoryPrune
        {
            private readonly Pruner _p;
            private readonly SyncRule _rule;
            private readonly IImageStore _store;
            private readonly IManifestDeleter _deleter;
            private readonly ImageReference _repository;
            private readonly IReadOnlyList<string> _tags;
            private readonly List<ImageCopy> _stale;
            private readonly DateTime _start = DateTime.UtcNow;
            private Task<KeptContent>? _kept;

            public RepositoryPrune(Pruner pruner, SyncRule rule, IImageStore store, IManifestDeleter deleter, ImageReference repository, IReadOnlyList<string> tags, List<ImageCopy> stale)
            {
                _p = pruner; _rule = rule; _store = store; _deleter = deleter; _repository = repository; _tags = tags; _stale = stale;
            }

            private string Repo => _repository.Repository;

            public async Task RunAsync(CancellationToken ct)
            {
                // The digest of each stale tag: for its result, and for a delete by digest.
                var digests = new Dictionary<string, Digest>(StringComparer.Ordinal);
                var byDigest = new List<ImageCopy>();
                foreach (var copy in _stale)
                {
                    ct.ThrowIfCancellationRequested();
                    var tag = copy.Destination.Tag!;
                    ManifestHead? head;
                    try { head = await Head(tag, ct).ConfigureAwait(false); }
                    catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested)) { Fail(copy, null, e); continue; }
                    if (head == null) { _p._log.Write(OciLogLevel.Verbose, $"{copy.Destination}: already gone."); continue; }
                    if (head.Digest is null)
                    {
                        Fail(copy, null, new RegistryException(ErrorIds.RegistryProtocolError, $"{_repository.RepositoryName}:{tag}: the registry named no digest for the tag; it was not deleted."));
                        continue;
                    }
                    digests[tag] = head.Digest;

                    bool tagDeletes;
                    lock (_p._byDigestOnly) tagDeletes = !_p._byDigestOnly.Contains(_store.Name);
                    if (!tagDeletes) { byDigest.Add(copy); continue; }
                    try
                    {
                        await _p._gate.RunAsync(_store, () => _deleter.DeleteManifestAsync(Repo, tag, ct), ct).ConfigureAwait(false);
                        Deleted(copy, head.Digest);
                    }
                    catch (RegistryException e) when (RefusesTags(e))
                    {
                        // The registry deletes by digest only (distribution 2.8: 400 DIGEST_INVALID; with deletes off, 405).
                        _p._log.Write(OciLogLevel.Verbose, $"{_store.Name} does not delete tags ({(int?)e.StatusCode} {string.Join(", ", e.Codes)}); deleting by digest where no kept tag shares it.");
                        lock (_p._byDigestOnly) _p._byDigestOnly.Add(_store.Name);
                        byDigest.Add(copy);
                    }
                    catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                    {
                        Fail(copy, head.Digest, e);
                    }
                }
                if (byDigest.Count == 0) return;

                KeptContent kept;
                try
                {
                    kept = await (_kept ??= ReadKeptAsync(ct)).ConfigureAwait(false);
                }
                catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    // Not knowing what the kept tags point to, a delete by digest could take one with it.
                    var error = _p._scrubber.Scrub(e);
                    foreach (var copy in byDigest)
                        Fail(copy, digests[copy.Destination.Tag!], new RegistryException(ErrorIds.Of(error), $"{copy.Destination}: not deleted: the repository's kept tags could not be checked: {error.Message}"));
                    return;
                }

                foreach (var group in byDigest.GroupBy(c => digests[c.Destination.Tag!]))
                {
                    ct.ThrowIfCancellationRequested();
                    var digest = group.Key;
                    if (kept.Tags.TryGetValue(digest, out var sharing) || kept.Children.TryGetValue(digest, out sharing))
                    {
                        var how = kept.Tags.ContainsKey(digest) ? $"the kept tag(s) {string.Join(", ", sharing.Take(5))} have the same digest" : $"it is a child of the kept index tag(s) {string.Join(", ", sharing.Take(5))}";
                        foreach (var copy in group)
                        {
                            var why = $"{copy.Destination}: stale, but not deleted: {_store.Name} deletes only by digest, which would also remove what is kept ({how}).";
                            _p._log.Write(OciLogLevel.Warning, why);
                            _p.Emit(_rule, _p.Result(_rule, copy, digest, SyncAction.Kept, _start, ErrorIds.PruneWouldRemoveKept, why));
                        }
                        continue;
                    }
                    try
                    {
                        await _p._gate.RunAsync(_store, () => _deleter.DeleteManifestAsync(Repo, digest.ToString(), ct), ct).ConfigureAwait(false);
                    }
                    catch (RegistryException e) when (e.ErrorId == ErrorIds.ManifestNotFound)
                    {
                        // Gone since the HEAD (deleted by another hand): the tags are gone all the same.
                    }
                    catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                    {
                        foreach (var copy in group) Fail(copy, digest, e);
                        continue;
                    }
                    foreach (var copy in group) Deleted(copy, digest);
                }
            }

            private static bool RefusesTags(RegistryException e) =>
                e.ErrorId == ErrorIds.RegistryDeleteUnsupported || e.StatusCode == HttpStatusCode.BadRequest || e.StatusCode == HttpStatusCode.NotFound || e.StatusCode == HttpStatusCode.MethodNotAllowed;

            private Task<ManifestHead?> Head(string reference, CancellationToken ct) =>
                _p._gate.RunAsync(_store, () => _store.HeadManifestAsync(Repo, reference, ct), ct, GatePriority.Planning);

            /// <summary>What a delete by digest must not take along: the digests of the kept tags, and the children of kept indexes.</summary>
            private async Task<KeptContent> ReadKeptAsync(CancellationToken ct)
            {
                var deleting = new HashSet<string>(_stale.Select(c => c.Destination.Tag!), StringComparer.Ordinal);
                var keptTags = _tags.Where(t => !deleting.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
                var heads = await Task.WhenAll(keptTags.Select(async tag => (Tag: tag, Head: await Head(tag, ct).ConfigureAwait(false)))).ConfigureAwait(false);
                var content = new KeptContent();
                foreach (var (tag, head) in heads)
                {
                    if (head == null) continue; // untagged since the listing
                    if (head.Digest is null)
                        throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_repository.RepositoryName}:{tag}: the registry named no digest for the kept tag.");
                    content.Add(content.Tags, head.Digest, tag);
                    if (MediaTypes.IsIndex(head.MediaType)) await AddChildrenAsync(content, tag, head.Digest, 0, ct).ConfigureAwait(false);
                }
                return content;
            }

            private async Task AddChildrenAsync(KeptContent content, string tag, Digest index, int depth, CancellationToken ct)
            {
                var manifest = await _p._gate.RunAsync(_store, () => _store.GetManifestAsync(Repo, index.ToString(), ct), ct, GatePriority.Planning).ConfigureAwait(false);
                foreach (var child in manifest.Children)
                {
                    if (!content.Add(content.Children, child.Digest, tag)) continue;
                    // An index of indexes: their children are kept too (a few levels; the image-spec sets no limit, sanity does).
                    if (MediaTypes.IsIndex(child.MediaType) && depth < 4) await AddChildrenAsync(content, tag, child.Digest, depth + 1, ct).ConfigureAwait(false);
                }
            }

            private void Deleted(ImageCopy copy, Digest digest)
            {
                _p._log.Write(OciLogLevel.Verbose, $"{copy.Destination}: deleted (its source {copy.Source} is gone).");
                _p.Emit(_rule, _p.Result(_rule, copy, digest, SyncAction.Deleted, _start));
            }

            private void Fail(ImageCopy copy, Digest? digest, Exception e)
            {
                var error = _p._scrubber.Scrub(e);
                _p.Emit(_rule, _p.Result(_rule, copy, digest, SyncAction.Failed, _start, ErrorIds.Of(error), error.Message));
            }
        }

        private sealed class KeptContent
        {
            public Dictionary<Digest, List<string>> Tags { get; } = new Dictionary<Digest, List<string>>();
            public Dictionary<Digest, List<string>> Children { get; } = new Dictionary<Digest, List<string>>();

            /// <summary>False when <paramref name="digest"/> was already in <paramref name="map"/> (its tag is added all the same).</summary>
            public bool Add(Dictionary<Digest, List<string>> map, Digest digest, string tag)
            {
                var added = !map.TryGetValue(digest, out var tags);
                if (added) map[digest] = tags = new List<string>();
                if (!tags!.Contains(tag)) tags.Add(tag);
                return added;
            }
        }
    }
}
