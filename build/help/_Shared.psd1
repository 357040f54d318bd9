# Parameter descriptions several cmdlets share; a cmdlet's own file wins.
@{
    Parameters = @{
        Credential            = 'Registry credentials: RegistryCredential objects from New-RegistryCredential or Import-RegistryCredential (each applies to its registry or registry/namespace key, the longest matching key wins), or a PSCredential (Get-Credential, Get-AutomationPSCredential), which is used for every registry the call names. Passwords stay SecureStrings and are never printed.'
        Auth                  = 'An image-syncer auth file (YAML or JSON by extension): a map whose keys are "registry" or "registry/namespace" and whose values are { username, password, insecure }. "${VAR}" and "$VAR" in values are read from the environment. The longest key that is a prefix of registry/repository (on a "/" boundary) is used; no match means anonymous access.'
        Images                = 'An image-syncer images file (YAML or JSON by extension) of rules "source: destination" or "source: [destination, ...]". Defaults to images.json in the current directory; when neither -Images nor -Auth is given, auth.json in the current directory is used too, as image-syncer does.'
        Config                = 'A legacy image-syncer config file holding both parts: { auth: {...}, images: {...} }.'
        Rule                  = 'Rule objects from New-SyncRule or Import-SyncRule, usually from the pipeline.'
        Source                = 'The source side of one rule, in images-file grammar: a repository (every tag), repo:tag1,tag2 (those tags), repo@sha256:... (one digest) or repo:/regex/ (every tag matching the unanchored regex). Short Docker Hub names normalise as docker pull does.'
        Destination           = 'One or more destinations of that rule. Without a tag each image keeps its source tag (or digest); with tags, as many as the source names, mapped left to right. "${VAR}" is read from the environment.'
        SourceCredential      = 'Credentials (a PSCredential) for the -Source repository.'
        DestinationCredential = 'Credentials (a PSCredential) for the -Destination repositories.'
        DefaultRegistry       = 'Registry for rules with an empty destination (image-syncer --registry; environment variable DEFAULT_REGISTRY). Used only together with a default namespace; the parameter wins over the variable.'
        DefaultNamespace      = 'Namespace for rules with an empty destination (image-syncer --namespace; environment variable DEFAULT_NAMESPACE). Used only together with a default registry; the parameter wins over the variable.'
        Proc                  = 'How many blobs are streamed at once across all images (image-syncer --proc): the limit on bandwidth-heavy transfers. Default 5, from 1 to 256. Alias: ThrottleLimit. Small requests have their own limit, -RequestLimit, so across a network they do not wait behind the transfers. Get-SyncPlan streams no blobs, so there it changes nothing; it is accepted so that one splat serves Get-SyncPlan and Invoke-ImageSync.'
        RequestLimit          = 'How many small requests are in flight at once at each registry (or directory store): HEADs, tag lists, manifests, blob checks and mounts, and blobs up to 1 MiB. Default 32, from 1 to 256. Across a network each costs a round trip and moves next to nothing, so many at once is what makes planning and no-op runs fast; lower it for a registry that asks for gentle clients. Copy work goes before planning work when both wait.'
    }
}
