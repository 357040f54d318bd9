@{
    Synopsis    = 'Shows what Invoke-ImageSync would copy, and whether each destination is already up to date. Copies nothing.'
    Description = @(
        'Get-SyncPlan reads the same inputs as Invoke-ImageSync (image-syncer files, rule objects from the pipeline, or one -Source/-Destination pair), lists the tags of the source repositories the rules need once, and HEADs sources and destinations. It emits one ImageCopy object per concrete image copy: Source, Destination, SourceDigest, DestinationDigest and UpToDate (the destination already holds the source''s digest).'
        'Nothing is written to any registry. A source that cannot be planned is a non-terminating error with a stable error id; the other copies are still planned. An unreadable images or auth file is a terminating error naming the file, line and column.'
    )
    Parameters  = @{
        MeasureSize = 'Also GET each source manifest that is not up to date (and, for an index, each child manifest the -OS/-Arch filter and the rule''s platforms keep) and set Size to its config + layer bytes: the most the copy moves. Up-to-date copies get Size 0 without a GET; a single-platform image counts whole. This costs a manifest GET per image, which Docker Hub counts against its pull quota, so it is opt-in. A manifest that cannot be fetched leaves Size empty with a warning.'
        OS          = 'With -MeasureSize: only these operating systems (os or os:osversion) of multi-platform images count, as Invoke-ImageSync -OS keeps them.'
        Arch        = 'With -MeasureSize: only these architectures (arch or arch:variant, e.g. arm64, arm:v7) of multi-platform images count, as Invoke-ImageSync -Arch keeps them.'
    }
    Examples    = @(
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml | Where-Object { -not $_.UpToDate }'; Remarks = 'Lists the images the next Invoke-ImageSync run would copy.' }
        @{ Code = 'Get-SyncPlan -Source ''quay.io/coreos/kube-rbac-proxy:/^v0\.1/'' -Destination registry.example.com/mirror/kube-rbac-proxy'; Remarks = 'Shows which tags a regex rule selects and where they would go.' }
        @{ Code = 'Import-SyncRule ./images.yaml | Get-SyncPlan -Auth ./auth.yaml | Format-Table'; Remarks = 'Plans rule objects from the pipeline. The table shows UpToDate and both digests first, so they stay in view at 120 columns.' }
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml -MeasureSize -Arch amd64 | Sort-Object Size -Descending | Format-List Source, Destination, Size'; Remarks = 'Shows the bytes each image would move for its amd64 platform, largest first (a manifest GET per image that is not up to date).' }
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml | Where-Object { -not $_.UpToDate } | Invoke-ImageSync -Auth ./auth.yaml'; Remarks = 'Syncs exactly the planned copies whose destination differs; Invoke-ImageSync does not HEAD them again.' }
    )
}
