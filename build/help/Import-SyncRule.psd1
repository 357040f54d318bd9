@{
    Synopsis    = 'Reads the rules of an image-syncer images file. Copies nothing.'
    Description = @(
        'Import-SyncRule reads an image-syncer images file (YAML or JSON by extension; with -Legacy the images part of a legacy { auth, images } config file) and emits one validated SyncRule per entry, in file order, each with its file:line origin.'
        'A rule that breaks the grammar is a non-terminating error naming file, line and column with a stable id (RuleTagCountMismatch, ...); the other rules are still returned. A file that cannot be read or parsed is a non-terminating error (ConfigFileNotFound, ConfigSyntaxError) for that file; other files given still load.'
    )
    Parameters  = @{
        Path   = 'images.yaml / images.json files. Accepts pipeline input by value and by property name (aliases FullName, PSPath), so Get-ChildItem pipes in.'
        Legacy = 'The file is image-syncer''s legacy combined config ({ auth: ..., images: ... }); only its rules are read.'
    }
    Examples    = @(
        @{ Code = 'Import-SyncRule ./images.yaml | Invoke-ImageSync -Auth ./auth.yaml'; Remarks = 'Reads the rules and syncs them.' }
        @{ Code = 'Get-ChildItem ./rules -Filter *.yaml | Import-SyncRule | Where-Object Kind -EQ Regex'; Remarks = 'Lists the regex rules of several files.' }
        @{ Code = 'Import-SyncRule ./mirror.yaml | Where-Object IsCatalog | Get-SyncPlan -Auth ./auth.yaml'; Remarks = 'The namespace rules of a file (keys such as "harbor.example.com/team/*": "mirror.example.com/team/*"), planned: the catalog of each registry is listed and every tag of every repository under the prefix is shown as a copy.' }
    )
}
