using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// The inputs Invoke-ImageSync and Get-SyncPlan share: image-syncer files, SyncRule objects from
    /// the pipeline, or one -Source/-Destination pair; credentials; defaults for empty destinations.
    /// </summary>
    public abstract class SyncRuleCmdlet : RegistryCmdlet, IDynamicParameters
    {
        protected const string FilesSet = "Files";
        protected const string RulesSet = "Rules";
        protected const string ReferenceSet = "Reference";

        private readonly List<SyncRule> _rules = new List<SyncRule>();

        /// <summary>An image-syncer images file; defaults to images.json in the current directory.</summary>
        [Parameter(ParameterSetName = FilesSet, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Images { get; set; }

        /// <summary>A legacy combined file: <c>{ auth: {...}, images: {...} }</c>.</summary>
        [Parameter(ParameterSetName = FilesSet)]
        [ValidateNotNullOrEmpty]
        public string? Config { get; set; }

        /// <summary>Rules from New-SyncRule or Import-SyncRule.</summary>
        [Parameter(ParameterSetName = RulesSet, Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public SyncRule[] Rule { get; set; } = Array.Empty<SyncRule>();

        /// <summary>The source side of one rule, in images-file grammar (all tags, :a,b, @digest, :/regex/).</summary>
        [Parameter(ParameterSetName = ReferenceSet, Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageReferenceCompleter))]
        public string? Source { get; set; }

        /// <summary>One or more destinations of that rule.</summary>
        [Parameter(ParameterSetName = ReferenceSet, Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageReferenceCompleter))]
        public string[] Destination { get; set; } = Array.Empty<string>();

        /// <summary>Credentials for the -Source registry (a PSCredential, e.g. from Get-Credential).</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        [Credential]
        public PSCredential? SourceCredential { get; set; }

        /// <summary>Credentials for the -Destination registries.</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        [Credential]
        public PSCredential? DestinationCredential { get; set; }

        /// <summary>With -Source: a regex (unanchored); listed tags it matches are left out.</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        [ValidateNotNullOrEmpty]
        public string? ExcludeTag { get; set; }

        /// <summary>With -Source: a semver range (<c>&gt;=1.20 &lt;2</c>); only tags that are versions in it.</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        [ValidateNotNullOrEmpty]
        public string? SemVer { get; set; }

        /// <summary>With -Source: keep the tags of the N highest versions left after -ExcludeTag and -SemVer.</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        public int? Latest { get; set; }

        /// <summary>With -Source: platforms to copy of the rule's images (<c>os/arch[/variant]</c>); with -OS/-Arch a platform must pass both.</summary>
        [Parameter(ParameterSetName = ReferenceSet)]
        [ArgumentCompleter(typeof(PlatformCompleter))]
        public string[]? Platform { get; set; }

        /// <summary>Only these operating systems (<c>os[:osversion]</c>) of multi-platform images: copied by Invoke-ImageSync, counted by -MeasureSize.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(OsCompleter))]
        public string[]? OS { get; set; }

        /// <summary>Only these architectures (<c>arch[:variant]</c>) of multi-platform images: copied by Invoke-ImageSync, counted by -MeasureSize.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(ArchCompleter))]
        public string[]? Arch { get; set; }

        /// <summary>-OS and -Arch as the engine and the size measurement apply them.</summary>
        private protected PlatformFilter Platforms => new PlatformFilter(OS, Arch);

        /// <summary>Blob streams in flight at once across all images (image-syncer --proc); Get-SyncPlan streams none.</summary>
        [Parameter]
        [Alias("ThrottleLimit")]
        [ValidateRange(1, 256)]
        public int Proc { get; set; } = 5;

        /// <summary>Small requests (HEADs, tag lists, manifests, blob checks, small blobs) in flight at once per registry.</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int RequestLimit { get; set; } = new SyncOptions().RequestConcurrency;

        /// <summary>Images only: their signatures, SBOMs and attestations stay behind, and tags that name referrers (<c>sha256-…</c>, <c>….sig</c>) are copied as images.</summary>
        [Parameter]
        public SwitchParameter NoReferrers { get; set; }

        /// <summary>Split the job into this many shards (1 to 10000), each run by a worker of its own; a shard copies the images whose destination repository hashes to it.</summary>
        [Parameter]
        [ValidateRange(1, ShardSpec.MaxCount)]
        public int? ShardCount { get; set; }

        /// <summary>This worker's shard, 0 to -ShardCount - 1; default: the environment variable JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it).</summary>
        /// <remarks>Not range-validated by the binder: a wrong index is the ShardIndexInvalid error, as a wrong JOB_COMPLETION_INDEX is.</remarks>
        [Parameter]
        public int? ShardIndex { get; set; }

        private protected IReadOnlyList<SyncRule> Rules => _rules;

        /// <summary>
        /// -ShardCount, -ShardIndex and JOB_COMPLETION_INDEX as one shard (or the whole job); a wrong combination is a
        /// terminating error (ShardIndexMissing, ShardIndexInvalid) before anything is read or listed.
        /// </summary>
        /// <param name="indexRequired">A sync must know its shard; a plan may show them all.</param>
        /// <param name="useEnvironment">False where the environment's index must not narrow the call (Get-SyncPlan -ShardSummary).</param>
        /// <param name="count">The shard count when it comes from elsewhere than -ShardCount (a plan file's).</param>
        private protected ShardChoice ResolveShard(bool indexRequired, bool useEnvironment = true, int? count = null)
        {
            var environment = useEnvironment ? Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable) : null;
            try
            {
                return ShardParameters.Resolve(ShardIndex, count ?? ShardCount, environment, indexRequired);
            }
            catch (ShardParameterException e)
            {
                ThrowTerminatingError(Errors.Record(e, e.ErrorId, (object?)ShardIndex ?? environment));
                throw; // not reached
            }
        }
        private protected CredentialStore Credentials { get; private set; } = new CredentialStore();

        private readonly RuleDefaults _defaults = new RuleDefaults();

        /// <summary>-DefaultRegistry and -DefaultNamespace.</summary>
        public object GetDynamicParameters() => _defaults;

        private protected RuleOptions RuleOptions => _defaults.Options(this);

        protected override void ProcessRecord()
        {
            if (ParameterSetName == RulesSet) _rules.AddRange(Rule.Where(r => r != null));
        }

        /// <summary>Collects every rule and credential for this call; per-rule problems are non-terminating errors.</summary>
        private protected void GatherInputs()
        {
            var extra = new List<RegistryCredential>();
            if (ParameterSetName == FilesSet) LoadFiles(extra);
            if (ParameterSetName == ReferenceSet) CreateReferenceRule();

            // Layout directories are no registries: a PSCredential never goes to one, nor counts as one.
            var registries = _rules.SelectMany(r => new[] { r.SourceRepository }.Concat(r.Targets.Select(t => t.Repository)))
                .Where(r => r.IsRegistry).Select(r => r.Registry).Concat(OtherRegistries());
            Credentials = BuildCredentials(registries);
            Credentials.AddRange(extra);
            if (ParameterSetName == ReferenceSet && _rules.Count == 1)
            {
                var rule = _rules[0];
                if (SourceCredential != null)
                    Credentials.Add(SourceCredential.ToRegistryCredential(rule.SourceRepository.RepositoryName, "-SourceCredential"));
                if (DestinationCredential != null)
                    foreach (var target in rule.Targets.Where(t => t.Repository.IsRegistry))
                        Credentials.Add(DestinationCredential.ToRegistryCredential(target.Repository.RepositoryName, "-DestinationCredential"));
            }
        }

        /// <summary>Registries the call names besides its rules' (Invoke-ImageSync's piped plan).</summary>
        private protected virtual IEnumerable<string> OtherRegistries() => Array.Empty<string>();

        private void CreateReferenceRule()
        {
            try
            {
                _rules.Add(SyncRule.Create(Source!, Destination, RuleOptions, TagSelectionParameters.Spec(ExcludeTag, SemVer, Latest, Platform)));
            }
            catch (RuleException e)
            {
                ThrowTerminatingError(Errors.Record(e, e.Error.ErrorId, ConfigError.Shorten(Source ?? string.Empty)));
            }
        }

        private void LoadFiles(List<RegistryCredential> extra)
        {
            try
            {
                if (!string.IsNullOrEmpty(Config))
                {
                    var legacy = LegacyConfigFile.Load(Resolve(Config!), RuleOptions);
                    Errors.Report(this, legacy.Errors, Config);
                    extra.AddRange(legacy.Auth.Credentials);
                    _rules.AddRange(legacy.Images.Rules);
                    return;
                }
                var imagesPath = Images ?? "images.json";
                if (Images == null && Auth == null && File.Exists(Resolve("auth.json"))) Auth = "auth.json"; // image-syncer's default
                var images = ImagesFile.Load(Resolve(imagesPath), RuleOptions);
                Errors.Report(this, images.Errors, imagesPath);
                _rules.AddRange(images.Rules);
            }
            catch (ConfigException e)
            {
                ThrowTerminatingError(Errors.Record(e, e.Error.ErrorId, e.Error.File));
            }
        }


        private protected string Resolve(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

        /// <summary>-WhatIf as ShouldProcess sees it: the switch's value when given (-WhatIf:$false too), else $WhatIfPreference.</summary>
        private protected bool IsWhatIf()
        {
            if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)) return bound is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(bound);
            return LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
        }

        /// <summary>
        /// A file the call will write must be writable: not a directory, its folder creatable, the file openable; checked
        /// before anything is planned, since a bad path found after an hour's work loses its record. Returns the full path
        /// (null for no path); otherwise a terminating InvalidOutputPath whose message ends with <paramref name="nothingDone"/>.
        /// </summary>
        private protected string? CheckOutputPath(string? path, string parameter, string nothingDone = "nothing was synced")
        {
            if (path == null) return null;
            string? problem = null;
            var full = path;
            try
            {
                full = Resolve(path);
                if (Directory.Exists(full)) problem = "names a directory, not a file";
                else
                {
                    var dir = Path.GetDirectoryName(full);
                    if (!string.IsNullOrEmpty(dir) && File.Exists(dir)) problem = $"is inside '{dir}', which is a file";
                    else if (!IsWhatIf())
                    {
                        // -WhatIf writes nothing, so it cannot try a write either; the shape checks above still run.
                        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                        var existed = File.Exists(full);
                        using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite)) { }
                        if (!existed) File.Delete(full);
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException
                || e is System.Security.SecurityException || e is ItemNotFoundException || e is System.Management.Automation.DriveNotFoundException || e is ProviderNotFoundException)
            {
                problem = "cannot be written (" + e.Message + ")";
            }
            if (problem != null)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-{parameter} '{path}' {problem}; {nothingDone}."),
                    Core.Transport.ErrorIds.InvalidOutputPath, ErrorCategory.InvalidArgument, path));
            return full;
        }

        /// <summary>Plans the gathered rules (tags listed once per repository, HEADs for digests); plan errors are written.</summary>
        /// <param name="shard">Only this shard's copies (rules cut to it before listing); null: the whole job.</param>
        private protected SyncPlan PlanRules(Core.Registry.RegistryClientFactory clients, bool headDestinations, ShardSpec? shard = null)
        {
            SyncPlan? plan = null;
            const int activity = 2;
            var lastReport = DateTime.MinValue;
            Run(async ct =>
            {
                plan = await new SyncPlanner(clients, RequestLimit, followReferrers: !NoReferrers, shard).PlanAsync(_rules, headDestinations, ct, (done, total) =>
                {
                    // Sampled: thousands of quick HEADs must not flood the host with progress records.
                    if (done < total && (DateTime.UtcNow - lastReport).TotalMilliseconds < 250) return;
                    lastReport = DateTime.UtcNow;
                    PostProgress(new ProgressRecord(activity, "Planning", $"{done} of {total} images checked") { PercentComplete = total == 0 ? 100 : done * 100 / total });
                }).ConfigureAwait(false);
                foreach (var error in plan.Errors) PostError(Errors.From(error.Error, error.Target));
                PostProgress(new ProgressRecord(activity, "Planning", "Done") { RecordType = ProgressRecordType.Completed });
            });
            return plan!;
        }


        /// <summary>-MeasureSize: the copies with their sizes (a manifest GET each not up to date); an image that cannot be measured is a warning. Only the -OS/-Arch platforms count.</summary>
        private protected IReadOnlyList<ImageCopy> MeasureSizes(Core.Registry.RegistryClientFactory clients, IReadOnlyList<ImageCopy> copies)
        {
            IReadOnlyList<ImageCopy> measured = copies;
            Run(async ct =>
            {
                PostProgress(new ProgressRecord(3, "Measuring", $"{copies.Count(c => !c.UpToDate)} image(s)"));
                measured = await new PlanSizes(clients, RequestLimit).MeasureAsync(copies, Platforms, ct).ConfigureAwait(false);
                PostProgress(new ProgressRecord(3, "Measuring", "Done") { RecordType = ProgressRecordType.Completed });
            });
            return measured;
        }
    }
}
