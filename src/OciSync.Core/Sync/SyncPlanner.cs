using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>A rule or image the planner could not turn into copies, and why.</summary>
    public sealed class PlanError
    {
        internal PlanError(string target, Exception error, ImageCopy? copy = null, SyncRule? rule = null) { Target = target; Error = error; Copy = copy; Rule = rule; }
        /// <summary>The image whose HEAD failed (source or destination, whichever failed), or the rule as written when its listing failed.</summary>
        public string Target { get; }
        /// <summary>The failure, with secrets scrubbed.</summary>
        public Exception Error { get; }
        /// <summary>The image whose HEAD failed; null when a whole rule could not be expanded.</summary>
        public ImageCopy? Copy { get; }
        /// <summary>The rule whose tags could not be listed; null when one image failed.</summary>
        public SyncRule? Rule { get; }
        /// <summary><see cref="SyncPhase.Planning"/> for a failed HEAD, <see cref="SyncPhase.Listing"/> for a failed listing.</summary>
        public string Phase => Copy != null ? SyncPhase.Planning : SyncPhase.Listing;
    }

    /// <summary>What the planner made of its rules: the copies to make, and what could not be planned.</summary>
    public sealed class SyncPlan
    {
        internal SyncPlan(IReadOnlyList<ImageCopy> copies, IReadOnlyList<PlanError> errors) { Copies = copies; Errors = errors; }
        /// <summary>The copies, one per source and destination; after <see cref="SyncPlanner.CheckAsync"/> they carry their digests.</summary>
        public IReadOnlyList<ImageCopy> Copies { get; }
        /// <summary>The rules and images that could not be listed or HEADed.</summary>
        public IReadOnlyList<PlanError> Errors { get; }
    }

    /// <summary>
    /// Rules → concrete image copies. Tags are listed once per source repository however many rules
    /// name it; then each copy's source and destination are HEADed (cheap, and free of Docker Hub's
    /// pull quota) so the copier can skip unchanged images without a manifest GET. Copies nothing.
    /// </summary>
    public sealed class SyncPlanner
    {
        private readonly ImageStores _stores;
        private readonly RegistryClientFactory _clients;
        private readonly RequestGates _gate;
        private readonly IOciLog _log;
        private readonly ReferrerTags? _referrerTags;
        private readonly ShardSpec? _shard;
        private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<string>>>> _tags = new ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<string>>>>(StringComparer.Ordinal);
        // By client (a registry and the credential its rules use): one catalog listing a pass however many rules share it.
        private readonly ConcurrentDictionary<IImageStore, Lazy<Task<IReadOnlyList<string>>>> _catalogs = new ConcurrentDictionary<IImageStore, Lazy<Task<IReadOnlyList<string>>>>();

        /// <summary>A planner for the registries of <paramref name="clients"/>, with at most <paramref name="concurrency"/> listings and HEADs in flight.</summary>
        /// <param name="concurrency">Requests (tag lists, HEADs) in flight at once at each registry.</param>
        /// <param name="followReferrers">As the engine with referrers on: tags that only name referrers (<c>sha256-…</c>, <c>….sig</c>) are not planned as images.</param>
        /// <param name="shard">Plan only this shard's copies (those whose destination repository is its own); null: the whole job.</param>
        public SyncPlanner(RegistryClientFactory clients, int concurrency, bool followReferrers = true, ShardSpec? shard = null)
            : this(new ImageStores(clients), new RequestGates(concurrency), followReferrers ? new ReferrerTags() : null, shard) { }

        /// <param name="referrerTags">Null with -NoReferrers; otherwise a rule listing tags leaves the referrer tags (<c>sha256-…</c>) to the referrers of its images, and what the listings showed of them is kept there.</param>
        /// <param name="shard">Rules are cut to this shard's targets before listing, a catalog rule's repositories once the catalog is listed.</param>
        internal SyncPlanner(ImageStores stores, RequestGates requests, ReferrerTags? referrerTags = null, ShardSpec? shard = null)
        {
            _shard = shard;
            _referrerTags = referrerTags;
            _stores = stores;
            var clients = stores.Registries;
            _clients = clients;
            _gate = requests;
            _log = clients.Log;
        }

        /// <summary>Lists and checks in one go (Get-SyncPlan): <see cref="ExpandAsync"/>, then <see cref="CheckAsync"/>.</summary>
        /// <param name="headDestinations">False with -Force: the destination's digest does not matter then.</param>
        /// <param name="progress">Told (images checked, images in the plan) as HEADs complete.</param>
        public async Task<SyncPlan> PlanAsync(IEnumerable<SyncRule> rules, bool headDestinations, CancellationToken ct, Action<int, int>? progress = null)
        {
            var expanded = await ExpandAsync(rules, ct).ConfigureAwait(false);
            var checkedPlan = await CheckAsync(expanded.Copies, headDestinations, ct, progress).ConfigureAwait(false);
            return new SyncPlan(checkedPlan.Copies, expanded.Errors.Concat(checkedPlan.Errors).ToList());
        }

        /// <summary>
        /// Rules → copies, listing tags where a rule needs them (once per repository for this planner;
        /// a failed listing is forgotten, so a later pass lists again). The same source and destination
        /// named by two rules is one copy.
        /// </summary>
        public async Task<SyncPlan> ExpandAsync(IEnumerable<SyncRule> rules, CancellationToken ct)
        {
            var errors = new ConcurrentBag<PlanError>();
            async Task<List<ImageCopy>> ExpandRuleAsync(SyncRule rule)
            {
                try
                {
                    if (rule.IsCatalog)
                    {
                        // A '/*' rule: the registry's catalog (listed once a pass), one ordinary rule per repository under the prefix.
                        var all = rule.ExpandCatalog(await ListCatalogOnceAsync(rule, ct).ConfigureAwait(false));
                        _log.Write(OciLogLevel.Verbose, $"Rule '{rule}': {all.Count} repositor{(all.Count == 1 ? "y" : "ies")} under {rule.ListedName}.");
                        if (all.Count == 0) _log.Write(OciLogLevel.Warning, $"Rule '{rule}' matches no repository in the catalog of {rule.SourceRepository.Registry}.");
                        // Only now are the destinations known: a shard lists the tags of its own repositories only.
                        var children = _shard.Restrict(all);
                        if (_shard != null) _log.Write(OciLogLevel.Verbose, $"Rule '{rule}': {children.Count} of the {all.Count} repositories copy into {_shard}.");
                        var each = await Task.WhenAll(children.Select(ExpandRuleAsync)).ConfigureAwait(false);
                        return each.SelectMany(c => c).ToList();
                    }
                    if (_shard.Restrict(rule) is not { } mine)
                    {
                        _log.Write(OciLogLevel.Verbose, $"Rule '{rule}': no destination in {_shard}; not listed.");
                        return new List<ImageCopy>();
                    }
                    rule = mine;
                    var tags = rule.NeedsTagList ? await ListTagsOnceAsync(rule.SourceRepository, ct).ConfigureAwait(false) : null;
                    var pairs = rule.Expand(tags).ToList();
                    // Referrer tags of a listing go with their images, not as images of their own.
                    if (_referrerTags != null && rule.NeedsTagList) pairs.RemoveAll(p => ReferrerTags.IsSchemaTag(p.Source.Tag));
                    if (pairs.Count == 0) _log.Write(OciLogLevel.Warning, $"Rule '{rule}' matches no tag.");
                    return pairs;
                }
                catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    errors.Add(new PlanError(rule.ToString(), _clients.Scrubber.Scrub(e), rule: rule));
                    return new List<ImageCopy>();
                }
            }
            var expanded = await Task.WhenAll(rules.Select(ExpandRuleAsync)).ConfigureAwait(false);

            // Each rule is expanded once a pass: the lists are let go (a run holds no repository's tags).
            _tags.Clear();
            _catalogs.Clear();
            var copies = expanded.SelectMany(p => p)
                .GroupBy(p => p.Source + " -> " + p.Destination, StringComparer.Ordinal)
                .Select(g => g.First())
                .ToList();
            return new SyncPlan(copies, errors.ToList());
        }

        /// <summary>HEADs each copy's source (and destination) for its digest; returns the copies that answered, in their order.</summary>
        /// <param name="planned">Told each copy the moment it is planned (the engine starts copying it then).</param>
        public async Task<SyncPlan> CheckAsync(IReadOnlyList<ImageCopy> copies, bool headDestinations, CancellationToken ct, Action<int, int>? progress = null,
            Action<ImageCopy>? planned = null)
        {
            var errors = new ConcurrentBag<PlanError>();
            var done = new ImageCopy?[copies.Count];
            var checkedCount = 0;
            await Task.WhenAll(copies.Select(async (copy, index) =>
            {
                // The error names the side that failed: a 401 from the destination is not the source's fault.
                var side = copy.Source;
                try
                {
                    // Both sides at once: across a network that is one round trip per image instead of two.
                    var source = HeadSourceAsync(copy, ct);
                    var destination = headDestinations ? HeadDestinationAsync(copy, ct) : Task.FromResult<Digest?>(null);
                    try { await Task.WhenAll(source, destination).ConfigureAwait(false); }
                    catch when (source.IsCompleted && !source.IsFaulted && !source.IsCanceled) { side = copy.Destination; }
                    var sourceDigest = await source.ConfigureAwait(false);
                    var destinationDigest = await destination.ConfigureAwait(false);
                    done[index] = copy.WithPlan(sourceDigest, destinationDigest);
                    planned?.Invoke(done[index]!);
                }
                catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    errors.Add(new PlanError(side.ToString(), _clients.Scrubber.Scrub(e), copy));
                }
                progress?.Invoke(Interlocked.Increment(ref checkedCount), copies.Count);
            })).ConfigureAwait(false);

            return new SyncPlan(done.Where(c => c != null).Select(c => c!).ToList(), errors.ToList());
        }

        private async Task<Digest?> HeadSourceAsync(ImageCopy copy, CancellationToken ct)
        {
            var src = _stores.Get(copy.Source);
            var head = await _gate.RunAsync(src, () => src.HeadManifestAsync(copy.Source.Repository, copy.Source.ApiReference!, ct), ct, GatePriority.Planning).ConfigureAwait(false)
                ?? throw RegistryException.ManifestNotFound(copy.Source);
            return head.Digest ?? copy.Source.Digest;
        }

        private async Task<Digest?> HeadDestinationAsync(ImageCopy copy, CancellationToken ct)
        {
            var dst = _stores.Get(copy.Destination);
            var head = await _gate.RunAsync(dst, () => dst.HeadManifestAsync(copy.Destination.Repository, copy.Destination.ApiReference!, ct), ct, GatePriority.Planning).ConfigureAwait(false);
            return head?.Digest;
        }

        // Listing takes a slot too, so a file of a thousand rules does not open a thousand requests at once.
        private Task<IReadOnlyList<string>> ListTagsOnceAsync(ImageReference repository, CancellationToken ct)
        {
            // Lazy: GetOrAdd may run its factory twice when two rules ask at once, which would mean two listings.
            return _tags.GetOrAdd(repository.RepositoryName, _ => new Lazy<Task<IReadOnlyList<string>>>(() => _gate.RunAsync(_stores.Get(repository), () => ListAsync(repository, ct), ct, GatePriority.Planning))).Value;
        }

        private Task<IReadOnlyList<string>> ListCatalogOnceAsync(SyncRule rule, CancellationToken ct)
        {
            // The credential is the one the prefix's repositories use (an auth key registry/namespace applies to registry/namespace/*).
            var store = _clients.Get(rule.SourceRepository.Registry, rule.CatalogPrefix!);
            return _catalogs.GetOrAdd(store, _ => new Lazy<Task<IReadOnlyList<string>>>(() => _gate.RunAsync(store, () => ListCatalogAsync(store, ct), ct, GatePriority.Planning))).Value;
        }

        private static async Task<IReadOnlyList<string>> ListCatalogAsync(IRepositoryLister store, CancellationToken ct)
        {
            var repositories = new List<string>();
            await foreach (var name in store.ListRepositoriesAsync(ct).ConfigureAwait(false)) repositories.Add(name);
            return repositories;
        }

        private async Task<IReadOnlyList<string>> ListAsync(ImageReference repository, CancellationToken ct)
        {
            var client = _stores.Get(repository);
            var tags = new List<string>();
            await foreach (var tag in client.ListTagsAsync(repository.Repository, ct).ConfigureAwait(false)) tags.Add(tag);
            _referrerTags?.Remember(client.Name, repository.Repository, tags);
            _log.Write(OciLogLevel.Verbose, $"{repository.RepositoryName}: {tags.Count} tag(s).");
            return tags;
        }
    }
}
