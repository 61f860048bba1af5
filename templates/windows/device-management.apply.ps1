{{> windows/_lib.ps1}}
{{#if site.device_management.service}}
$name = {{site.device_management.service}}
if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
    if (-not $env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT) { throw "$name is not installed and the site names no [device_management] artifact" }
    # msiexec or the installer itself by the staged name's extension (handover stages each artifact under a
    # plain name that keeps the site's extension, never a URL's query); the site's own switches (`args`) follow.
    if ($env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT -like '*.msi') { Invoke-Installer 'msiexec.exe' (@('/i', $env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT, '/qn', '/norestart') + (Get-ArtifactArguments 'DEVICE_MANAGEMENT')) }
    else { Invoke-Installer $env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT (Get-ArtifactArguments 'DEVICE_MANAGEMENT') }
}
Set-Service -Name $name -StartupType Automatic
if ((Get-Service -Name $name).Status -ne 'Running') { Start-Service -Name $name }
Complete-Apply
{{else}}
throw 'no device-management agent named in the site'
{{/if}}
