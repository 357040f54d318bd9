using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>Runs the real engine against the fixture's registries and records what it did.</summary>
internal sealed class SyncHarness : ISyncObserver
{
    public ConcurrentQueue<LayerResult> Layers { get; } = new();
    public ConcurrentQueue<ManifestResult> Manifests { get; } = new();
    public ConcurrentQueue<ImageResult> Images { get; } = new();
    public ConcurrentQueue<SyncProgress> Progress { get; } = new();
    public ConcurrentQueue<(string Method, string Path, int Status)> Requests { get; } = new();
    public RegistryClientFactory Clients { get; }

    /// <param name="credentials">The explicit credentials; default: every fixture registry's own.</param>
    /// <param name="docker">docker's and podman's files, asked for what <paramref name="credentials"/> leave anonymous.</param>
    public SyncHarness(RegistryFixture registries, Func<bool, HttpMessageHandler>? sockets = null, Action<RegistryClientOptions>? configure = null,
        CredentialStore? credentials = null, DockerCredentials? docker = null)
    {
        var store = credentials ?? new CredentialStore();
        if (credentials == null)
            foreach (var server in registries.All.Where(s => s.Username != null))
                store.Add(new RegistryCredential(server.Host, server.Username, RegistryCredential.ToSecureString(server.Password)));
        var options = new RegistryClientOptions
        {
            RequestObserver = (req, resp) => Requests.Enqueue((req.Method.Method, req.RequestUri!.PathAndQuery, (int?)resp?.StatusCode ?? 0)),
            SocketHandlerFactory = sockets,
        };
        configure?.Invoke(options);
        Clients = new RegistryClientFactory(options, store, docker);
    }

    public async Task<SyncSummary> RunAsync(SyncOptions options, params (string Source, string Destination)[] copies)
    {
        var engine = new SyncEngine(Clients, options, this);
        var list = copies.Select(c => new ImageCopy(ImageReference.Parse(c.Source), ImageReference.Parse(c.Destination))).ToList();
        var summary = await engine.RunAsync(list, CancellationToken.None);
        PeakConcurrency = engine.PeakConcurrency;
        return summary;
    }

    public int PeakConcurrency { get; private set; }

    public int Count(string method, string pathPart) => Requests.Count(r => r.Method == method && r.Path.Contains(pathPart, StringComparison.Ordinal));

    public void OnLayer(LayerResult result) => Layers.Enqueue(result);
    public void OnManifest(ManifestResult result) => Manifests.Enqueue(result);
    public void OnBytes(long count) { }
    public void OnImage(ImageResult result) => Images.Enqueue(result);
    public void OnProgress(SyncProgress progress) => Progress.Enqueue(progress);

    /// <summary>Walks a destination image and asserts every child manifest and blob it references exists.</summary>
    public static async Task AssertCompleteAsync(RegistryHttp http, string repository, string reference)
    {
        var manifest = await http.GetManifestAsync(repository, reference);
        Assert.True(manifest != null, $"{repository}:{reference} is missing");
        using var doc = JsonDocument.Parse(manifest!);
        var root = doc.RootElement;
        if (root.TryGetProperty("manifests", out var children))
        {
            foreach (var child in children.EnumerateArray())
                await AssertCompleteAsync(http, repository, child.GetProperty("digest").GetString()!);
            return;
        }
        var blobs = new List<string> { root.GetProperty("config").GetProperty("digest").GetString()! };
        blobs.AddRange(root.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!));
        foreach (var blob in blobs)
            Assert.True(await http.BlobExistsAsync(repository, blob), $"{repository}: blob {blob} referenced by {reference} is missing");
    }
}
