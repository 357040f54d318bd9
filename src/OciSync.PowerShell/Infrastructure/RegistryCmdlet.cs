using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Registry;
using OciSync.Core.Transport;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// What every cmdlet that talks to registries shares: -Credential / -Auth, a registry client
    /// factory for the call, and Core's log routed to Verbose and Debug.
    /// </summary>
    public abstract class RegistryCmdlet : AsyncPSCmdlet
    {
        /// <summary>
        /// Registry credentials: objects from New-RegistryCredential / Import-RegistryCredential, or a
        /// PSCredential (Get-Credential, Get-AutomationPSCredential) used for the registries this call names.
        /// </summary>
        [Parameter]
        [ValidateNotNull]
        public object[]? Credential { get; set; }

        /// <summary>An image-syncer auth file (YAML or JSON).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Auth { get; set; }

        /// <summary>An HTTP proxy for every registry of the call (NO_PROXY still sends hosts direct); default: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY.</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? Proxy { get; set; }

        private protected CmdletLog? Log { get; private set; }

        private protected CmdletLog OpenLog(string? logPath = null)
        {
            Log ??= new CmdletLog((level, message) =>
            {
                switch (level)
                {
                    case OciLogLevel.Debug: PostDebug(message); break;
                    case OciLogLevel.Warning: PostWarning(message); break;
                    default: PostVerbose(message); break;
                }
            }, logPath, text => Scrubber.Scrub(text));
            return Log;
        }

        protected override void EndProcessing()
        {
            Log?.Dispose();
            base.EndProcessing();
        }

        // A terminating error or Ctrl+C skips EndProcessing: the log file must not stay open (and locked) after the call.
        protected override void Dispose(bool disposing)
        {
            if (disposing) Log?.Dispose();
            base.Dispose(disposing);
        }

        /// <summary>Builds the credential store from -Auth and -Credential; a PSCredential applies to <paramref name="registries"/>.</summary>
        private protected CredentialStore BuildCredentials(IEnumerable<string> registries)
        {
            var store = new CredentialStore();
            if (!string.IsNullOrEmpty(Auth))
            {
                var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Auth);
                AuthFileResult result;
                try
                {
                    result = AuthFile.Load(path);
                }
                catch (ConfigException e)
                {
                    ThrowTerminatingError(Errors.Record(e, e.Error.ErrorId, Auth));
                    throw; // not reached
                }
                Errors.Report(this, result.Errors, Auth);
                store.AddRange(result.Credentials);
            }
            foreach (var item in Credential ?? Array.Empty<object>())
            {
                var value = item is PSObject pso ? pso.BaseObject : item;
                switch (value)
                {
                    case RegistryCredential rc:
                        store.Add(rc);
                        break;
                    case PSCredential pc:
                        // A bare user/password names no registry: only use it when the call names exactly one,
                        // so it is never sent to a host it does not belong to.
                        var named = registries.Distinct(StringComparer.Ordinal).ToList();
                        if (named.Count != 1)
                            ThrowTerminatingError(new ErrorRecord(
                                new ArgumentException($"A PSCredential in -Credential is only used when one registry is involved; this call names {named.Count}. Use New-RegistryCredential -Registry <host> -Credential ... (or -SourceCredential/-DestinationCredential) to say which registry it is for."),
                                ErrorIds.AmbiguousCredential, ErrorCategory.InvalidArgument, null));
                        store.Add(pc.ToRegistryCredential(named[0], "-Credential"));
                        break;
                    default:
                        ThrowTerminatingError(new ErrorRecord(
                            new ArgumentException($"-Credential takes RegistryCredential objects (New-RegistryCredential, Import-RegistryCredential) or a PSCredential, not {value?.GetType().Name ?? "null"}."),
                            ErrorIds.InvalidCredentialArgument, ErrorCategory.InvalidArgument, null));
                        break;
                }
            }
            return store;
        }

        private protected RegistryClientFactory CreateClients(CredentialStore credentials, string? logPath = null, Action<RegistryClientOptions>? configure = null)
        {
            var log = OpenLog(logPath);
            var options = new RegistryClientOptions { Log = log };
            try
            {
                options.Proxy = Proxy != null ? ProxySettings.ForAll(Proxy) : ProxySettings.FromEnvironment();
            }
            catch (RegistryException e)
            {
                ThrowTerminatingError(Errors.Record(e, e.ErrorId, Proxy));
            }
            if (options.Proxy != null) log.Write(OciLogLevel.Verbose, $"Proxy: {options.Proxy}.");
            configure?.Invoke(options);
            if (MyInvocation.BoundParameters.ContainsKey("Debug"))
            {
                // Method, URL without its query (upload URLs carry state) and status; never headers.
                options.RequestObserver = (request, response) => log.Write(OciLogLevel.Debug,
                    $"{request.Method} {RegistryException.Redact(request.RequestUri!)} -> {(response == null ? "no response" : ((int)response.StatusCode).ToString())}");
            }
            // docker's and podman's files answer for what -Credential and -Auth leave anonymous (as skopeo and crane do).
            var docker = DockerCredentials.FromEnvironment();
            Errors.Report(this, docker.Problems, null);
            foreach (var file in docker.Files) log.Write(OciLogLevel.Verbose, $"Docker credentials file: {file} (used for registries that -Credential and -Auth leave anonymous).");
            var factory = new RegistryClientFactory(options, credentials, docker);
            Scrubber = factory.Scrubber;
            return factory;
        }
    }
}
