@{
    Synopsis    = 'Shows what Invoke-ImageSync would copy, and whether each destination is already up to date. Copies nothing.'
    Description = @(
        'Get-SyncPlan reads the same inputs as Invoke-ImageSync (image-syncer files, rule objects from the pipeline, or one -Source/-Destination pair), lists the tags of the source repositories the rules need once, and HEADs sources and destinations. It emits one ImageCopy object per concrete image copy: Source, Destination, SourceDigest, DestinationDigest and UpToDate (the destination already holds the source''s digest).'
        'Nothing is written to any registry. A source that cannot be planned is a non-terminating error with a stable error id; the other copies are still planned. An unreadable images or auth file is a terminating error naming the file, line and column.'
    )
    Parameters  = @{}
    Examples    = @(
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml | Where-Object { -not $_.UpToDate }'; Remarks = 'Lists the images the next Invoke-ImageSync run would copy.' }
        @{ Code = 'Get-SyncPlan -Source ''quay.io/coreos/kube-rbac-proxy:/^v0\.1/'' -Destination registry.example.com/mirror/kube-rbac-proxy'; Remarks = 'Shows which tags a regex rule selects and where they would go.' }
        @{ Code = 'Import-SyncRule ./images.yaml | Get-SyncPlan -Auth ./auth.yaml | Format-Table'; Remarks = 'Plans rule objects from the pipeline. The table shows UpToDate and both digests first, so they stay in view at 120 columns.' }
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml | Where-Object { -not $_.UpToDate } | Invoke-ImageSync -Auth ./auth.yaml'; Remarks = 'Syncs exactly the planned copies whose destination differs; Invoke-ImageSync does not HEAD them again.' }
    )
}
