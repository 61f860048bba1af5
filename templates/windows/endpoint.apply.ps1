{{> windows/_lib.ps1}}
{{#if (eq site.endpoint.product "site")}}
$name = {{site.endpoint.service}}
if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
    if (-not $env:HANDOVER_ARTIFACT_ENDPOINT) { throw "$name is not installed and the site names no [endpoint] artifact" }
    # msiexec or the installer itself by the staged name's extension (handover stages each artifact under a
    # plain name that keeps the site's extension, never a URL's query); the site's own switches (`args`) follow.
    if ($env:HANDOVER_ARTIFACT_ENDPOINT -like '*.msi') { Invoke-Installer 'msiexec.exe' (@('/i', $env:HANDOVER_ARTIFACT_ENDPOINT, '/qn', '/norestart') + (Get-ArtifactArguments 'ENDPOINT')) }
    else { Invoke-Installer $env:HANDOVER_ARTIFACT_ENDPOINT (Get-ArtifactArguments 'ENDPOINT') }
}
Set-Service -Name $name -StartupType Automatic
if ((Get-Service -Name $name).Status -ne 'Running') { Start-Service -Name $name }
Complete-Apply
{{else}}
Set-MpPreference -DisableRealtimeMonitoring $false
Update-MpSignature
# Tamper protection can only be turned on in Windows Security or by Intune; say so when it is off.
if (-not (Get-MpComputerStatus).IsTamperProtected) { Write-Output 'tamper protection is off: turn it on in Windows Security (it cannot be set by a script)' }
{{/if}}
