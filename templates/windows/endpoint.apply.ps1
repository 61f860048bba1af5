{{> windows/_lib.ps1}}
{{#if (eq site.endpoint.product "site")}}
$name = {{site.endpoint.service}}
if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
    if (-not $env:HANDOVER_ARTIFACT_ENDPOINT) { throw "$name is not installed and the site names no [endpoint] artifact" }
    if ($env:HANDOVER_ARTIFACT_ENDPOINT -like '*.msi') { Invoke-Installer 'msiexec.exe' @('/i', "`"$env:HANDOVER_ARTIFACT_ENDPOINT`"", '/qn', '/norestart') }
    else { Invoke-Installer $env:HANDOVER_ARTIFACT_ENDPOINT @() }
}
Set-Service -Name $name -StartupType Automatic
Start-Service -Name $name
{{else}}
Set-MpPreference -DisableRealtimeMonitoring $false
Update-MpSignature
# Tamper protection can only be turned on in Windows Security or by Intune; say so when it is off.
if (-not (Get-MpComputerStatus).IsTamperProtected) { Write-Output 'tamper protection is off: turn it on in Windows Security (it cannot be set by a script)' }
{{/if}}
