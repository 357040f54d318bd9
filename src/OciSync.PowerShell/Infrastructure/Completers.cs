using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// What the completers share: a typed word (perhaps opened with a quote) matched as a case-insensitive
    /// prefix, and results quoted when PowerShell would otherwise split them. A completer never throws:
    /// PowerShell would show the exception to someone who only pressed Tab.
    /// </summary>
    internal static class Completion
    {
        private static readonly Regex Bare = new Regex(@"^[A-Za-z0-9._:/\-]+$", RegexOptions.CultureInvariant);

        /// <summary>The values that start with the typed word, as completion results with their tooltips.</summary>
        public static IEnumerable<CompletionResult> Matching(string? wordToComplete, IEnumerable<(string Value, string ToolTip)> values)
        {
            var word = wordToComplete ?? string.Empty;
            char? quote = null;
            if (word.Length > 0 && (word[0] == '\'' || word[0] == '"'))
            {
                quote = word[0];
                word = word.Substring(1);
                if (word.Length > 0 && word[word.Length - 1] == quote) word = word.Substring(0, word.Length - 1);
            }
            var results = new List<CompletionResult>();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (value, toolTip) in values)
            {
                if (string.IsNullOrEmpty(value) || !value.StartsWith(word, StringComparison.OrdinalIgnoreCase) || !seen.Add(value)) continue;
                results.Add(new CompletionResult(Quote(value, quote), value, CompletionResultType.ParameterValue, string.IsNullOrEmpty(toolTip) ? value : toolTip));
            }
            return results;
        }

        private static string Quote(string value, char? quote)
        {
            if (quote == '"') return "\"" + value.Replace("`", "``").Replace("\"", "`\"").Replace("$", "`$") + "\"";
            if (quote == '\'' || !Bare.IsMatch(value)) return "'" + value.Replace("'", "''") + "'";
            return value;
        }

        /// <summary>A bound value of the command line as PowerShell's completion saw it (a literal, or a variable's value), unwrapped.</summary>
        public static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;
    }

    /// <summary>Operating systems of OCI platforms (<c>-OS</c>: <c>os[:osversion]</c>).</summary>
    public sealed class OsCompleter : IArgumentCompleter
    {
        internal static readonly (string Value, string ToolTip)[] Values =
        {
            ("linux", "linux: Linux (most images)"),
            ("windows", "windows: Windows (osversion after a colon, e.g. windows:10.0.20348.2700)"),
            ("darwin", "darwin: macOS"),
            ("freebsd", "freebsd: FreeBSD"),
            ("netbsd", "netbsd: NetBSD"),
            ("openbsd", "openbsd: OpenBSD"),
            ("dragonfly", "dragonfly: DragonFly BSD"),
            ("solaris", "solaris: Solaris"),
            ("illumos", "illumos: illumos"),
            ("aix", "aix: AIX"),
            ("zos", "zos: z/OS"),
            ("android", "android: Android"),
            ("ios", "ios: iOS"),
            ("plan9", "plan9: Plan 9"),
            ("wasip1", "wasip1: WebAssembly System Interface (WASI preview 1)"),
            ("js", "js: JavaScript / WebAssembly"),
        };

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try { return Completion.Matching(wordToComplete, Values); }
            catch (Exception) { return Array.Empty<CompletionResult>(); }
        }
    }

    /// <summary>Architectures of OCI platforms (<c>-Arch</c>: <c>arch[:variant]</c>); the variants once a colon is typed.</summary>
    public sealed class ArchCompleter : IArgumentCompleter
    {
        internal static readonly (string Value, string ToolTip)[] Values =
        {
            ("amd64", "amd64: 64-bit x86 (x86_64)"),
            ("arm64", "arm64: 64-bit ARM (aarch64)"),
            ("arm", "arm: 32-bit ARM (variant after a colon: arm:v7, arm:v6, arm:v5)"),
            ("386", "386: 32-bit x86"),
            ("ppc64le", "ppc64le: 64-bit POWER, little-endian"),
            ("ppc64", "ppc64: 64-bit POWER, big-endian"),
            ("s390x", "s390x: IBM Z"),
            ("riscv64", "riscv64: 64-bit RISC-V"),
            ("mips64le", "mips64le: 64-bit MIPS, little-endian"),
            ("mips64", "mips64: 64-bit MIPS, big-endian"),
            ("mipsle", "mipsle: 32-bit MIPS, little-endian"),
            ("mips", "mips: 32-bit MIPS, big-endian"),
            ("loong64", "loong64: 64-bit LoongArch"),
            ("wasm", "wasm: WebAssembly"),
        };

        private static readonly (string Value, string ToolTip)[] Variants =
        {
            ("arm:v7", "arm:v7: 32-bit ARMv7 (armhf)"),
            ("arm:v6", "arm:v6: 32-bit ARMv6 (armel, Raspberry Pi Zero/1)"),
            ("arm:v5", "arm:v5: 32-bit ARMv5"),
            ("arm64:v8", "arm64:v8: 64-bit ARMv8 (what an arm64 image without a variant is)"),
        };

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try { return Completion.Matching(wordToComplete, (wordToComplete ?? string.Empty).IndexOf(':') >= 0 ? Variants : Values); }
            catch (Exception) { return Array.Empty<CompletionResult>(); }
        }
    }

    /// <summary>Common OCI platforms (<c>-Platform</c>: <c>os/arch[/variant]</c>).</summary>
    public sealed class PlatformCompleter : IArgumentCompleter
    {
        private static readonly (string Value, string ToolTip)[] Values =
        {
            ("linux/amd64", "linux/amd64: Linux on 64-bit x86"),
            ("linux/arm64", "linux/arm64: Linux on 64-bit ARM (every variant)"),
            ("linux/arm64/v8", "linux/arm64/v8: Linux on 64-bit ARMv8 (also an arm64 image without a variant)"),
            ("linux/arm", "linux/arm: Linux on 32-bit ARM (every variant)"),
            ("linux/arm/v7", "linux/arm/v7: Linux on 32-bit ARMv7"),
            ("linux/arm/v6", "linux/arm/v6: Linux on 32-bit ARMv6"),
            ("linux/arm/v5", "linux/arm/v5: Linux on 32-bit ARMv5"),
            ("linux/386", "linux/386: Linux on 32-bit x86"),
            ("linux/ppc64le", "linux/ppc64le: Linux on 64-bit POWER, little-endian"),
            ("linux/s390x", "linux/s390x: Linux on IBM Z"),
            ("linux/riscv64", "linux/riscv64: Linux on 64-bit RISC-V"),
            ("linux/mips64le", "linux/mips64le: Linux on 64-bit MIPS, little-endian"),
            ("linux/loong64", "linux/loong64: Linux on 64-bit LoongArch"),
            ("windows/amd64", "windows/amd64: Windows on 64-bit x86"),
            ("windows/arm64", "windows/arm64: Windows on 64-bit ARM"),
            ("darwin/amd64", "darwin/amd64: macOS on 64-bit x86"),
            ("darwin/arm64", "darwin/arm64: macOS on Apple silicon"),
            ("freebsd/amd64", "freebsd/amd64: FreeBSD on 64-bit x86"),
            ("freebsd/arm64", "freebsd/arm64: FreeBSD on 64-bit ARM"),
        };

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try { return Completion.Matching(wordToComplete, Values); }
            catch (Exception) { return Array.Empty<CompletionResult>(); }
        }
    }

    /// <summary>
    /// The registry hosts the credentials on the same command line name: the <c>-Auth</c> file (read with
    /// <see cref="AuthFile"/>, the file named and no other) and <c>RegistryCredential</c> objects bound to
    /// <c>-Credential</c> as values completion can see (literals, variables). Only host names come out: no
    /// user name or password is ever part of a completion or its tooltip. A file that cannot be read or
    /// parsed, a path that is no file, or a read that takes too long gives no hosts.
    /// </summary>
    internal static class KnownRegistries
    {
        /// <summary>How long Tab may wait for the file (a FIFO or a slow network share must not hang the prompt).</summary>
        private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

        // host, host:port, [ipv6]:port — nothing with a user, a password or a scheme in it.
        private static readonly Regex Host = new Regex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$", RegexOptions.CultureInvariant);

        /// <summary>Each host once, in the order found, with where it came from.</summary>
        public static List<(string Host, string Source)> From(IDictionary? fakeBoundParameters)
        {
            var hosts = new List<(string, string)>();
            if (fakeBoundParameters == null) return hosts;
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            void Add(string key, string source)
            {
                var k = RegistryCredential.NormalizeKey(key);
                var slash = k.IndexOf('/');
                var host = slash < 0 ? k : k.Substring(0, slash);
                if (Host.IsMatch(host) && seen.Add(host)) hosts.Add((host, source));
            }

            foreach (var credential in FromAuthFile(Bound(fakeBoundParameters, "Auth") as string))
                Add(credential.Key, "the -Auth file");
            if (Bound(fakeBoundParameters, "Credential") is object credentials)
            {
                var items = credentials is IEnumerable list && !(credentials is string) ? list.Cast<object?>() : new[] { credentials };
                foreach (var item in items)
                    if (Completion.Unwrap(item) is RegistryCredential rc) Add(rc.Key, "-Credential");
            }
            return hosts;
        }

        private static object? Bound(IDictionary parameters, string name)
        {
            foreach (DictionaryEntry entry in parameters)
                if (entry.Key is string key && string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return Completion.Unwrap(entry.Value);
            return null;
        }

        private static IReadOnlyList<RegistryCredential> FromAuthFile(string? auth)
        {
            if (string.IsNullOrWhiteSpace(auth)) return Array.Empty<RegistryCredential>();
            var path = FileSystemPath(auth!);
            if (path == null || !System.IO.File.Exists(path)) return Array.Empty<RegistryCredential>();
            // Off the pipeline thread, so Tab returns even when the read does not.
            var load = Task.Run(() => AuthFile.Load(path, _ => null)); // ${VAR}: no environment read; only the keys are wanted
            try
            {
                return load.Wait(ReadTimeout) ? load.Result.Credentials : Array.Empty<RegistryCredential>();
            }
            catch (AggregateException)
            {
                return Array.Empty<RegistryCredential>();
            }
        }

        /// <summary>The file the cmdlet would read (the path resolved against the PowerShell location), or null when it is no file on the file system.</summary>
        private static string? FileSystemPath(string path)
        {
            using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
            // Test-Path first: it answers false (a drive that does not exist, a bad path) without an error, and an
            // error here, even caught, would land in the user's $Error for pressing Tab. -LiteralPath: no wildcards.
            ps.AddScript(@"param($p)
if (Microsoft.PowerShell.Management\Test-Path -LiteralPath $p -PathType Leaf) {
    $item = Microsoft.PowerShell.Management\Get-Item -LiteralPath $p -Force -ErrorAction Ignore
    if ($null -ne $item -and $item.PSProvider.Name -eq 'FileSystem') { $item.FullName }
}", useLocalScope: true).AddArgument(path);
            var result = ps.Invoke();
            return ps.HadErrors || result.Count != 1 ? null : result[0]?.BaseObject as string;
        }
    }

    /// <summary>Registry hosts (<c>-DefaultRegistry</c>) known from the credentials on the command line.</summary>
    public sealed class RegistryCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try { return Completion.Matching(wordToComplete, KnownRegistries.From(fakeBoundParameters).Select(h => (h.Host, $"{h.Host}: a registry from {h.Source}"))); }
            catch (Exception) { return Array.Empty<CompletionResult>(); }
        }
    }

    /// <summary>
    /// The registry part of image references and repositories (<c>-Source</c>, <c>-Destination</c>,
    /// <c>-Repository</c>, <c>-Reference</c>): <c>host/</c> for each registry the command line's credentials name.
    /// </summary>
    public sealed class ImageReferenceCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try { return Completion.Matching(wordToComplete, KnownRegistries.From(fakeBoundParameters).Select(h => (h.Host + "/", $"{h.Host}/: a registry from {h.Source}"))); }
            catch (Exception) { return Array.Empty<CompletionResult>(); }
        }
    }
}
