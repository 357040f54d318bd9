using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Runs <c>docker-credential-&lt;name&gt; get</c> by the docker-credential-helpers protocol: the server URL on
    /// stdin, <c>{"ServerURL","Username","Secret"}</c> on stdout, "credentials not found in native keychain" (and a
    /// non-zero exit) when it has none. What a helper prints is never shown anywhere: it may hold the secret, so
    /// failures say only which helper, how it ended and where it was configured.
    /// </summary>
    internal static class CredentialHelper
    {
        /// <summary>What the protocol's helpers print when they hold nothing for the server.</summary>
        public const string NotFoundMessage = "credentials not found in native keychain";
        private const int MaxOutputChars = 1024 * 1024;

        /// <summary>The helper's credential, or null when it has none for <paramref name="serverUrl"/>; a helper that is missing, fails or hangs throws.</summary>
        /// <param name="configured">Where the helper was named, for messages ("credsStore of /home/u/.docker/config.json").</param>
        /// <param name="searchPath">Directories to find the helper in (tests); null: PATH, as docker does.</param>
        public static RegistryCredential? Get(string helper, string serverUrl, string key, string configured, TimeSpan timeout, IReadOnlyList<string>? searchPath = null)
        {
            var program = "docker-credential-" + helper;
            var file = Locate(program, searchPath ?? PathDirectories(Environment.GetEnvironmentVariable("PATH")))
                ?? throw Failure($"The credential helper {program} ({configured}) was not found on PATH; install it or remove it from the file.");
            var start = new ProcessStartInfo(file, "get")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                CreateNoWindow = true,
                StandardOutputEncoding = Encoding.UTF8,
            };
            Process process;
            try
            {
                process = Process.Start(start) ?? throw new Win32Exception();
            }
            catch (Exception e) when (e is Win32Exception || e is FileNotFoundException)
            {
                throw Failure($"The credential helper {file} ({configured}) could not be started ({e.GetType().Name}).", e);
            }
            using (process)
            {
                // Both streams drained at once: a helper that fills one pipe while we wait on the other would hang.
                var output = ReadBoundedAsync(process.StandardOutput);
                var errors = ReadBoundedAsync(process.StandardError);
                try
                {
                    process.StandardInput.Write(serverUrl);
                    process.StandardInput.Close();
                }
                catch (IOException) { /* it ended before reading: its exit code tells */ }
                if (!process.WaitForExit((int)timeout.TotalMilliseconds))
                {
                    try { process.Kill(); } catch (InvalidOperationException) { }
                    throw Failure($"The credential helper {program} ({configured}) gave no answer within {timeout.TotalSeconds:0} s and was stopped.");
                }
                // A child of the helper may still hold its pipes after it exited: its output gets a short grace, no more.
                if (!Task.WaitAll(new Task[] { output, errors }, OutputGrace))
                    throw Failure($"The credential helper {program} ({configured}) exited, but something it started still holds its output; the answer is not used.");
                var text = output.Result;
                if (process.ExitCode != 0)
                {
                    if (text.Trim().Equals(NotFoundMessage, StringComparison.OrdinalIgnoreCase)) return null;
                    throw Failure($"The credential helper {program} ({configured}) failed for {serverUrl} (exit code {process.ExitCode}); its output is not shown, as it may hold secrets.");
                }
                return Parse(text, program, configured, serverUrl, key);
            }
        }

        private static RegistryCredential? Parse(string text, string program, string configured, string serverUrl, string key)
        {
            string? username, secret;
            try
            {
                using var json = JsonDocument.Parse(text);
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new JsonException();
                username = root.TryGetProperty("Username", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
                secret = root.TryGetProperty("Secret", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            }
            catch (JsonException)
            {
                // No inner exception: the parser's message quotes pieces of the answer.
                throw Failure($"The credential helper {program} ({configured}) answered for {serverUrl} with something that is not its JSON; the answer is not shown, as it may hold secrets.");
            }
            if (string.IsNullOrEmpty(secret)) return null;
            if (secret!.Length > RegistryCredential.MaxLength || (username?.Length ?? 0) > RegistryCredential.MaxLength)
                throw Failure($"The credential helper {program} ({configured}) answered for {serverUrl} with a value over {RegistryCredential.MaxLength} characters.");
            var origin = $"{program} ({configured})";
            return username == RegistryCredential.IdentityTokenUser
                ? RegistryCredential.ForIdentityToken(key, RegistryCredential.ToSecureString(secret), origin)
                : new RegistryCredential(key, username, RegistryCredential.ToSecureString(secret), origin: origin);
        }

        private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(2);

        /// <summary>
        /// The helper's full path, found in <paramref name="directories"/> only: never the current or the program's own
        /// directory (which a bare name given to Process.Start would try first), so a docker-credential-* file in the
        /// folder a sync runs from is not run. Relative PATH entries are skipped for the same reason; on Windows the
        /// PATHEXT extensions are tried.
        /// </summary>
        internal static string? Locate(string program, IEnumerable<string> directories)
        {
            var windows = Path.DirectorySeparatorChar == '\\';
            var extensions = windows
                ? (Environment.GetEnvironmentVariable("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries)
                : new[] { string.Empty };
            foreach (var directory in directories)
            {
                if (string.IsNullOrWhiteSpace(directory) || !Path.IsPathRooted(directory)) continue;
                foreach (var extension in extensions)
                {
                    var candidate = Path.Combine(directory, program + extension);
                    if (File.Exists(candidate)) return candidate;
                }
            }
            return null;
        }

        internal static IEnumerable<string> PathDirectories(string? path) =>
            (path ?? string.Empty).Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries).Select(d => d.Trim('"'));

        private static async Task<string> ReadBoundedAsync(StreamReader reader)
        {
            var text = new StringBuilder();
            var buffer = new char[4096];
            int n;
            while ((n = await reader.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
                if (text.Length < MaxOutputChars) text.Append(buffer, 0, Math.Min(n, MaxOutputChars - text.Length));
            return text.ToString();
        }

        private static RegistryException Failure(string message, Exception? inner = null) =>
            new RegistryException(ErrorIds.CredentialHelperFailed, message, inner);
    }
}
