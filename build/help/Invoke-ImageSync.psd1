@{
    Synopsis    = 'Copies container images between registries, as image-syncer does: many-to-many, streaming, incremental and concurrent.'
    Description = @(
        'Invoke-ImageSync copies images between any registries that speak the Docker Registry HTTP API V2 / OCI Distribution API. It takes image-syncer''s files unchanged (-Images, -Auth, or the legacy -Config; with none of them it reads images.json and auth.json in the current directory), rule objects from the pipeline (New-SyncRule, Import-SyncRule), or one -Source/-Destination pair.'
        'It first plans the rules (tags listed once per repository, HEAD requests for digests): an image whose destination already holds the same digest is skipped as Unchanged without any GET. What differs is streamed blob by blob from the source straight into the destination, never to disk, under one concurrency limit (-Proc); blobs the destination has are not uploaded again, blobs in another repository of the same registry are mounted. Manifests are pushed byte for byte, so digests are preserved, and a tag is pushed only after everything it references is in place.'
        'Output: one LayerResult per blob (Copied, Mounted, Present, Failed), one ManifestResult per manifest (Synced, Unchanged, Filtered, Failed; children of an index too) and, last, a SyncSummary. Write-Progress shows images and bytes done.'
        'Each image that fails is a non-terminating error with a stable error id (RegistryUnreachable, RegistryUnauthorized, ManifestNotFound, DigestMismatch, ...) and the image as target; the others go on, and failed work is retried -Retries more times. A rule that breaks the grammar is a non-terminating error (RuleTagCountMismatch, ...) while the other rules run; an unreadable file is a terminating error (ConfigSyntaxError, ConfigFileNotFound) naming the file, line and column.'
        'Registries are untrusted: a listed tag that is not a valid tag name is skipped with a warning and never becomes a request; a Link or upload Location outside the registry''s own origin and API is an error for that image; credentials are sent only to the origin (scheme, host, port) they belong to; passwords and tokens a registry echoes are shown as ***. See about_OciSync_Security.'
        'With -WhatIf the plan is shown and nothing is written.'
        'With -Debug every request is written to the debug stream (method, URL without its query, status; never a header). Verbose and warning lines then go to the debug stream as well, unless -Verbose or -WarningAction is given too: PowerShell would otherwise ask before each of them, and fail in a non-interactive host such as an Azure Automation runbook.'
    )
    Parameters  = @{
        Retries           = 'Extra passes over the images that failed, after the first pass (image-syncer --retries). Default 2. Transient HTTP faults (429, 5xx, resets; a timeout once) are also retried per request with backoff.'
        OS                = 'Keep only these operating systems (os or os:osversion) from multi-platform images (image-syncer --os). Single-platform images of another OS are skipped as Filtered. An index is re-written only when the filter really removed entries.'
        Arch              = 'Keep only these architectures (arch or arch:variant, e.g. arm64, arm:v7) from multi-platform images (image-syncer --arch).'
        Force             = 'Push manifests even when the destination already holds the same digest (image-syncer --force).'
        LogPath           = 'Also write log lines to this file (image-syncer --log), each stamped in ISO 8601 UTC (2026-12-01T18:49:26.720Z) whatever the culture. Alias: Log. The log never holds a secret. The path is checked before anything is planned: a directory or an unwritable file is a terminating InvalidOutputPath error.'
        SuccessImagesPath = 'Write an images file (YAML or JSON by extension) of the images that are now in sync, unchanged ones included; it can be fed back with -Images. Checked before the sync starts (InvalidOutputPath).'
        FailedImagesPath  = 'Write an images file of the images that failed, to retry later with -Images. Checked before the sync starts (InvalidOutputPath).'
        MinimumTransferRate = 'The slowest blob transfer tolerated, in bytes per second averaged over each minute; slower, and the transfer is abandoned as RegistryTimeout and retried. Default 1024; 0 turns it off. Besides this, a transfer that moves no byte for 120 s is abandoned.'
    }
    Examples    = @(
        @{ Code = 'Invoke-ImageSync -Images ./images.yaml -Auth ./auth.yaml -Retries 3 -LogPath ./log'; Remarks = 'The image-syncer command line "image-syncer --auth=./auth.yaml --images=./images.yaml --retries=3 --log=./log".' }
        @{ Code = 'Import-SyncRule ./images.yaml | Invoke-ImageSync -Auth ./auth.yaml -Arch amd64, arm64 -SuccessImagesPath ./done.yaml -FailedImagesPath ./failed.yaml'; Remarks = 'Syncs rule objects from the pipeline, keeping two architectures, and writes the images that synced and those that failed as images files.' }
        @{ Code = '$cred = Get-AutomationPSCredential -Name ''mirror-registry''
Invoke-ImageSync -Source docker.io/library/nginx:1.27 -Destination mirror.example.com/library/nginx -DestinationCredential $cred'; Remarks = 'Copies one image in an Azure Automation runbook with a stored credential for the destination.' }
        @{ Code = 'Invoke-ImageSync -Images ./images.yaml -Auth ./auth.yaml -WhatIf'; Remarks = 'Shows what would be copied and writes nothing.' }
    )
}
