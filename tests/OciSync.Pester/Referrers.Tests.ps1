BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
}
AfterAll { Stop-OciTestBed $bed }

# demo/signed:1.0 carries a cosign signature, an SBOM attached by the referrers tag schema and the SBOM's signature.
Describe 'Referrers follow their images' {
    It 'copies the signature, the SBOM and its signature, shows them on the result and in the summary, and a re-run copies none' {
        $repo = "$B/$(New-TestRepositoryName 'signed')/signed"
        $out = @(Invoke-ImageSync -Source "$A/demo/signed" -Destination $repo -Auth $auth -InformationVariable info)
        $out | Should -HaveCount 1 -Because 'the sha256-* tags of an all-tags rule go with their image, not as images'
        $out[0].Action | Should -Be 'Synced'
        @($out[0].Referrers) | Should -HaveCount 3
        @($out[0].Referrers | Where-Object ArtifactType -eq 'application/spdx+json') | Should -HaveCount 1
        @($out[0].Referrers | Where-Object ArtifactType -eq 'application/vnd.dev.cosign.simplesigning.v1+json') | Should -HaveCount 2
        "$(@($info | Where-Object Tags -Contains 'OciSync.Summary')[0].MessageData)" | Should -Match '3 referrers synced'

        $digest = $out[0].Digest
        $sigTag = ($digest -replace ':', '-') + '.sig'
        $tags = @(Get-RegistryTag $repo -Auth $auth | ForEach-Object Tag)
        $tags | Should -Contain $sigTag
        $tags | Should -Contain ($digest -replace ':', '-')
        (Get-RegistryManifest "${repo}:$sigTag" -Auth $auth).Digest | Should -Be (Get-RegistryManifest "$A/demo/signed:$sigTag").Digest

        $again = Invoke-ImageSync -Source "$A/demo/signed" -Destination $repo -Auth $auth -Summary
        $again.Unchanged | Should -Be 1
        $again.ReferrersSynced | Should -Be 0
        $again.ReferrersUnchanged | Should -Be 3
    }

    It '-NoReferrers leaves them behind; -ReferrerArtifactType copies only that type' {
        $repo = "$B/$(New-TestRepositoryName 'unsigned')/signed"
        $out = Invoke-ImageSync -Source "$A/demo/signed:1.0" -Destination $repo -Auth $auth -NoReferrers
        @($out.Referrers) | Should -HaveCount 0
        @(Get-RegistryTag $repo -Auth $auth | ForEach-Object Tag) | Should -Be @('1.0')

        $sbom = Invoke-ImageSync -Source "$A/demo/signed:1.0" -Destination $repo -Auth $auth -ReferrerArtifactType 'application/spdx+json'
        @($sbom.Referrers) | Should -HaveCount 1
        $sbom.Referrers[0].ArtifactType | Should -Be 'application/spdx+json'
        $sbom.Referrers[0].Action | Should -Be 'Synced'
    }

    It 'Get-SyncPlan plans the referrer tags as images only with -NoReferrers' {
        @(Get-SyncPlan -Source "$A/demo/signed" -Destination "$B/plan/signed" -Auth $auth) | Should -HaveCount 1
        @(Get-SyncPlan -Source "$A/demo/signed" -Destination "$B/plan/signed" -Auth $auth -NoReferrers) | Should -HaveCount 4
    }
}
