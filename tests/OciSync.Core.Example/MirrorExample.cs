using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Sync;
using OciSync.Core.Transport;

namespace OciSync.Core.Example;

/// <summary>
/// OciSync.Core from C#: the rules, credentials and engine the cmdlets use, without PowerShell.
/// Each method is one task a caller has; read them top to bottom.
/// </summary>
public static class MirrorExample
{
    /// <summary>
    /// Mirrors images as an image-syncer rule says (<c>source</c> → <c>destination</c>, registries or
    /// <c>oci:DIR</c> / <c>oci-archive:FILE</c>), writing a success file of what is now in sync.
    /// Failures do not throw: each is an <see cref="ImageResult"/> with an error id, so one bad image
    /// never stops the others.
    /// </summary>
    public static async Task<(SyncSummary Summary, IReadOnlyList<ImageResult> Images)> MirrorAsync(
        string source, string destination, IEnumerable<RegistryCredential> credentials, string? successFile, CancellationToken ct)
    {
        // Credentials go only to the registry (and repository prefix) they name; an auth file would be
        // AuthFile.Load(path).Credentials.
        var store = new CredentialStore(credentials);
        var clients = new RegistryClientFactory(new RegistryClientOptions { Log = new ConsoleLog() }, store);

        // The rule grammar of images files: "repo" (all tags), "repo:a,b", "repo@sha256:…", "repo:/regex/".
        var rule = SyncRule.Create(source, new[] { destination });

        var results = new ResultCollector();
        var engine = new SyncEngine(clients, new SyncOptions { Concurrency = 4, Retries = 1, SuccessImagesPath = successFile }, results);
        var summary = await engine.RunAsync(new[] { rule }, ct).ConfigureAwait(false);
        return (summary, results.Images.ToList());
    }

    /// <summary>What is in sync already, without copying: the planner HEADs each image of the rule on both sides.</summary>
    public static async Task<IReadOnlyList<ImageCopy>> PlanAsync(string source, string destination, IEnumerable<RegistryCredential> credentials, CancellationToken ct)
    {
        var store = new CredentialStore(credentials);
        var planner = new SyncPlanner(new RegistryClientFactory(credentials: store), concurrency: 4);
        var plan = await planner.PlanAsync(new[] { SyncRule.Create(source, new[] { destination }) }, headDestinations: true, ct).ConfigureAwait(false);
        if (plan.Errors.Count > 0) throw plan.Errors[0].Error;
        return plan.Copies;
    }

    /// <summary>The tags of a repository and the digest of one of them, straight from the registry API.</summary>
    public static async Task<(IReadOnlyList<string> Tags, Digest? Digest)> InspectAsync(string repository, string tag, CancellationToken ct)
    {
        var reference = ImageReference.Parse(repository);
        var client = new RegistryClientFactory().Get(reference);
        var tags = new List<string>();
        await foreach (var t in client.ListTagsAsync(reference.Repository, ct).ConfigureAwait(false)) tags.Add(t);
        try
        {
            var manifest = await client.GetManifestAsync(reference.Repository, tag, ct).ConfigureAwait(false);
            return (tags, manifest.Digest);
        }
        catch (RegistryException e) when (e.ErrorId == ErrorIds.ManifestNotFound)
        {
            return (tags, null); // stable ids, so callers branch on the id, never on the message
        }
    }

    /// <summary>Results arrive from the engine's threads as each image is final.</summary>
    private sealed class ResultCollector : ISyncObserver
    {
        public ConcurrentQueue<ImageResult> Images { get; } = new();
        public void OnImage(ImageResult result) => Images.Enqueue(result);
        public void OnLayer(LayerResult result) { }
        public void OnManifest(ManifestResult result) { }
        public void OnBytes(long count) { }
        public void OnProgress(SyncProgress progress) { }
    }

    /// <summary>Core's log lines, already scrubbed of this run's secrets.</summary>
    private sealed class ConsoleLog : IOciLog
    {
        public void Write(OciLogLevel level, string message)
        {
            if (level >= OciLogLevel.Warning) Console.Error.WriteLine($"{level}: {message}");
        }
    }
}
