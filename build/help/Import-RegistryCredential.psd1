@{
    Synopsis    = 'Reads an image-syncer auth file into registry credential objects.'
    Description = @(
        'Import-RegistryCredential reads an image-syncer auth file (YAML or JSON by extension) and emits one RegistryCredential per entry. Keys are registry or registry/namespace; values are { username, password, insecure }; "${VAR}" and "$VAR" are read from the environment (an unset variable is empty). An entry without user or password means anonymous access, said in the verbose output.'
        'Passwords stay SecureStrings and are never shown. A file that cannot be read or parsed is a non-terminating error (ConfigFileNotFound, ConfigSyntaxError) naming file, line and column.'
    )
    Parameters  = @{
        Path = 'auth.yaml / auth.json files. Accepts pipeline input by value and by property name (aliases FullName, PSPath).'
    }
    Examples    = @(
        @{ Code = '$creds = Import-RegistryCredential ./auth.yaml
Invoke-ImageSync -Images ./images.yaml -Credential $creds'; Remarks = 'Reads the credentials once and uses them for a sync.' }
        @{ Code = 'Import-RegistryCredential ./auth.yaml | Format-Table Key, Username, Insecure, IsAnonymous'; Remarks = 'Checks which registries the auth file covers; passwords are never shown.' }
    )
}
