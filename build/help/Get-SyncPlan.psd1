@{
    Synopsis    = 'Shows what Invoke-ImageSync would copy, and whether each destination is already up to date. Copies nothing.'
    Description = @(
        'Get-SyncPlan reads the same inputs as Invoke-ImageSync (image-syncer files, rule objects from the pipeline, or one -Source/-Destination pair), lists the tags of the source repositories the rules need once, and HEADs sources and destinations. It emits one ImageCopy object per concrete image copy: Source, Destination, SourceDigest, DestinationDigest and UpToDate (the destination already holds the source''s digest).'
        'Nothing is written to any registry. A source that cannot be planned is a non-terminating error with a stable error id; the other copies are still planned. An unreadable images or auth file is a terminating error naming the file, line and column.'
    )
    Parameters  = @{
        ShardSummary = 'With -ShardCount: instead of the copies, one OciSync.Core.Sync.ShardLoad per shard (0 to -ShardCount minus 1, the empty ones too): Shard, ShardCount, Images, ToCopy (not up to date), UpToDate, Repositories (distinct destination repositories), Bytes (the sum of the copies'' Size where known, e.g. from -MeasureSize; empty when no copy of the shard has a size) and BytesKnown (how many copies had one). The whole job is planned: JOB_COMPLETION_INDEX does not narrow the summary; an explicit -ShardIndex shows that shard''s row only. Without -ShardCount it is the error ShardIndexInvalid.'
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
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml -ShardCount 8 -ShardSummary'; Remarks = 'Shows how the job would split across 8 workers: a row per shard with its images, how many are to copy, and its destination repositories. Without -ShardSummary, each copy shows its Shard column.' }
        @{ Code = 'Get-SyncPlan -Images ./images.yaml -Auth ./auth.yaml -ShardCount 8 -ShardIndex 3 | Where-Object { -not $_.UpToDate }'; Remarks = 'The copies shard 3 of 8 would make: what Invoke-ImageSync -ShardCount 8 -ShardIndex 3 (or JOB_COMPLETION_INDEX=3) would copy. Only the source repositories with a destination in that shard are listed.' }
    )
}
