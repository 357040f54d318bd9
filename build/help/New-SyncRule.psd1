@{
    Synopsis    = 'Creates a sync rule in image-syncer grammar, validated. Copies nothing.'
    Description = @(
        'New-SyncRule builds a SyncRule object from a source and one or more destinations written as in an image-syncer images file, and checks the grammar: neither side empty; a source with no tag means every tag, :a,b means those tags, @sha256:... one digest and :/regex/ every tag matching the (unanchored) regex; destination tags must be as many as the source tags. Short Docker Hub names normalise as docker pull does (nginx is docker.io/library/nginx).'
        'Source and Destination bind by property name, so objects or CSV rows with those columns pipe in. The rules pipe into Invoke-ImageSync and Get-SyncPlan. A rule that breaks the grammar is a non-terminating error with a stable id (RuleTagCountMismatch, RuleMultipleRegex, RuleBadRegex, RuleDigestMismatch, RuleDestinationTagsNeedSourceTags, RuleNoDefaultDestination, RuleInvalidReference).'
    )
    Parameters  = @{
        Source      = 'The source: a repository (every tag), repo:tag1,tag2 (those tags), repo@sha256:... (one digest) or repo:/regex/ (every matching tag). Accepts pipeline input by property name.'
        Destination = 'The destinations. Without a tag each image keeps its source tag or digest; with tags, as many as the source names, mapped left to right. Duplicates are dropped and "${VAR}" is read from the environment. Empty means the default destination built from -DefaultRegistry and -DefaultNamespace. Accepts pipeline input by property name (alias Destinations).'
    }
    Examples    = @(
        @{ Code = 'New-SyncRule -Source ''quay.io/coreos/kube-rbac-proxy:v1.0,v2.0'' -Destination registry.example.com/ruohe/kube-rbac-proxy'; Remarks = 'Two tags of one repository, keeping their tags. Quote a source with a comma: unquoted, PowerShell reads it as an array.' }
        @{ Code = 'New-SyncRule -Source ''quay.io/coreos/kube-rbac-proxy:/a+/'' -Destination registry.example.com/ruohe/kube-rbac-proxy1, registry.example.com/ruohe/kube-rbac-proxy2'; Remarks = 'Every tag matching a regex, to two destinations.' }
        @{ Code = '@([pscustomobject]@{ Source = ''nginx:1.27''; Destination = ''registry.example.com/library/nginx'' }, [pscustomobject]@{ Source = ''bitnami/redis:7.2''; Destination = ''registry.example.com/bitnami/redis'' }) | New-SyncRule'; Remarks = 'Rules from objects with Source and Destination properties (Import-Csv rows work the same way).' }
    )
}
