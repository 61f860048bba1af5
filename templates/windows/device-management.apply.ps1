{{> windows/_lib.ps1}}
{{#if site.device_management.service}}
$name = {{site.device_management.service}}
if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
    if (-not $env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT) { throw "$name is not installed and the site names no [device_management] artifact" }
    if ($env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT -like '*.msi') { Invoke-Installer 'msiexec.exe' @('/i', "`"$env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT`"", '/qn', '/norestart') }
    else { Invoke-Installer $env:HANDOVER_ARTIFACT_DEVICE_MANAGEMENT @() }
}
Set-Service -Name $name -StartupType Automatic
Start-Service -Name $name
{{else}}
throw 'no device-management agent named in the site'
{{/if}}
