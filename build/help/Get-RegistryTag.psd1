@{
    Synopsis    = 'Lists the tags of registry repositories.'
    Description = @(
        'Get-RegistryTag lists the tags of one or more repositories of any Docker Registry V2 / OCI Distribution registry, following the registry''s Link pagination, and emits one RegistryTag object (Repository, Tag, Reference) per tag.'
        'Repositories come as arguments or from the pipeline, by value or by a property named Repository, Name, Source or RepositoryName. A tag or digest in the name is ignored: the whole repository is listed. Loopback registries are reached over plain HTTP.'
        'A repository that cannot be listed (unreachable registry, wrong credentials, unknown repository) is a non-terminating error with a stable error id (RegistryUnreachable, RegistryUnauthorized, RepositoryNotFound); the other repositories are still listed.'
    )
    Parameters  = @{
        Repository = 'Repositories such as nginx, quay.io/coreos/etcd or 127.0.0.1:5000/demo/app. Accepts pipeline input by value and by property name (aliases Name, Source, RepositoryName).'
        Filter     = 'Only tags matching this regular expression. The match is unanchored, like image-syncer''s /regex/ rules: "a+" matches any tag containing "a"; use ^ and $ to anchor. An invalid expression is a terminating InvalidFilter error. Each match may take 1 s and all matches of the call 5 s together; a pattern that needs more (nested repetition such as (a+)+ backtracks exponentially) stops the listing with a TagRegexTimeout error. Tags the registry lists that are not valid tag names are skipped with a warning.'
    }
    Examples    = @(
        @{ Code = 'Get-RegistryTag quay.io/coreos/etcd'; Remarks = 'Lists every tag of a public repository.' }
        @{ Code = 'Get-RegistryTag registry.example.com/team/app -Filter ''^v\d+\.\d+$'' -Auth ./auth.yaml'; Remarks = 'Lists the release tags of a private repository, with credentials from an image-syncer auth file.' }
        @{ Code = 'Get-RegistryTag docker.io/library/alpine -Filter ''^3\.'' | Get-RegistryManifest'; Remarks = 'Pipes the matching tags into Get-RegistryManifest to see their digests and platforms.' }
    )
}
