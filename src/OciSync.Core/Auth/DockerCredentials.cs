using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// The credentials users already have for docker, podman and skopeo, asked for a registry only when nothing
    /// explicit (a -Credential, the auth file) covers it. Files, first match wins: <c>REGISTRY_AUTH_FILE</c>, else
    /// <c>$XDG_RUNTIME_DIR/containers/auth.json</c> (podman, skopeo); then <c>$DOCKER_CONFIG/config.json</c>, else
    /// <c>~/.docker/config.json</c>. In each file: the registry's <c>credHelpers</c> helper, then an inline
    /// <c>auths</c> entry (longest registry/namespace match), then the <c>credsStore</c> helper. A helper runs at
    /// most once per registry and instance; its failure is remembered and becomes each request's error.
    /// </summary>
    public sealed class DockerCredentials
    {
        private readonly List<DockerConfigFile> _files;
        private readonly ConcurrentDictionary<string, Lazy<RegistryCredential?>> _asked = new ConcurrentDictionary<string, Lazy<RegistryCredential?>>(StringComparer.Ordinal);

        private DockerCredentials(List<DockerConfigFile> files, TimeSpan helperTimeout)
        {
            _files = files;
            HelperTimeout = helperTimeout;
        }

        /// <summary>The files read, in the order they are asked (those that exist).</summary>
        public IReadOnlyList<string> Files => _files.Select(f => f.Path).ToList();

        /// <summary>Problems of the files (warnings: the file or entry is ignored), each naming the file and line, never a value.</summary>
        public IReadOnlyList<ConfigError> Problems => _files.SelectMany(f => f.Problems).ToList();

        /// <summary>How long a helper may take to answer (ecr-login and gcloud go to the network); default 30 s.</summary>
        public TimeSpan HelperTimeout { get; }

        /// <summary>Nothing at all: every lookup is anonymous.</summary>
        public static DockerCredentials None { get; } = new DockerCredentials(new List<DockerConfigFile>(), TimeSpan.FromSeconds(30));

        /// <summary>The files the environment names, as docker, podman and skopeo find them.</summary>
        /// <param name="getEnvironmentVariable">Default: the process environment.</param>
        public static DockerCredentials FromEnvironment(Func<string, string?>? getEnvironmentVariable = null) =>
            FromFiles(DefaultPaths(getEnvironmentVariable ?? Environment.GetEnvironmentVariable));

        /// <summary>Given files, asked in order; those that do not exist are left out.</summary>
        public static DockerCredentials FromFiles(IEnumerable<string> paths, TimeSpan? helperTimeout = null) => FromFiles(paths, helperTimeout, null);

        /// <param name="helperSearchPath">Where helpers are looked for instead of PATH (tests).</param>
        internal static DockerCredentials FromFiles(IEnumerable<string> paths, TimeSpan? helperTimeout, IReadOnlyList<string>? helperSearchPath)
        {
            var files = new List<DockerConfigFile>();
            foreach (var path in paths.Where(p => !string.IsNullOrEmpty(p)).Distinct(StringComparer.Ordinal))
                if (DockerConfigFile.Load(path) is { } file) files.Add(file);
            return new DockerCredentials(files, helperTimeout ?? TimeSpan.FromSeconds(30)) { _helperSearchPath = helperSearchPath };
        }

        private IReadOnlyList<string>? _helperSearchPath;

        /// <summary>The candidate files for an environment, in the order they are asked (whether they exist or not).</summary>
        public static IReadOnlyList<string> DefaultPaths(Func<string, string?> env)
        {
            var paths = new List<string>();
            var podman = env("REGISTRY_AUTH_FILE");
            if (!string.IsNullOrEmpty(podman)) paths.Add(podman!);
            else if (env("XDG_RUNTIME_DIR") is { Length: > 0 } runtime) paths.Add(Path.Combine(runtime, "containers", "auth.json"));
            var docker = env("DOCKER_CONFIG");
            if (!string.IsNullOrEmpty(docker)) paths.Add(Path.Combine(docker!, "config.json"));
            else
            {
                var home = env("HOME");
                if (string.IsNullOrEmpty(home)) home = env("USERPROFILE");
                if (!string.IsNullOrEmpty(home)) paths.Add(Path.Combine(home!, ".docker", "config.json"));
            }
            return paths;
        }

        /// <summary>
        /// The credential for <c>registry/repository</c>, or null (anonymous). A helper that fails throws
        /// <see cref="RegistryException"/> (CredentialHelperFailed), now and on every later ask for that registry.
        /// </summary>
        /// <param name="log">Told which source answered (never the secret).</param>
        public RegistryCredential? Find(string registry, string repository, IOciLog? log = null)
        {
            var host = DockerConfigFile.KeyOf(registry);
            foreach (var file in _files)
            {
                if (file.Helpers.TryGetValue(host, out var helper))
                {
                    var found = Ask(helper.Helper, helper.Spelling, host, $"credHelpers at {file.Path}:{helper.Line}", log);
                    if (found != null) return found;
                }
                if (file.Inline.Find(host, repository) is { } inline)
                {
                    log?.Write(OciLogLevel.Verbose, $"Credentials for {registry}: {inline.Origin}.");
                    return inline;
                }
                if (file.Store != null)
                {
                    var spelling = file.Spellings.TryGetValue(host, out var s) ? s : ServerUrlOf(host);
                    var found = Ask(file.Store, spelling, host, $"credsStore at {file.Path}:{file.StoreLine}", log);
                    if (found != null) return found;
                }
            }
            return null;
        }

        private RegistryCredential? Ask(string helper, string serverUrl, string host, string configured, IOciLog? log)
        {
            var lazy = _asked.GetOrAdd(helper + "\n" + serverUrl, _ => new Lazy<RegistryCredential?>(() =>
            {
                var found = CredentialHelper.Get(helper, serverUrl, host, configured, HelperTimeout, _helperSearchPath);
                log?.Write(OciLogLevel.Verbose, found != null
                    ? $"Credentials for {host}: docker-credential-{helper} ({configured})."
                    : $"docker-credential-{helper} ({configured}) has no credentials for {serverUrl}.");
                return found;
            }));
            return lazy.Value; // a failure is cached by the Lazy: one helper run per registry, one error each time
        }

        // What docker stores Docker Hub under; other registries by their host.
        private static string ServerUrlOf(string host) => host == ImageReference.DockerHub ? "https://index.docker.io/v1/" : host;
    }
}
