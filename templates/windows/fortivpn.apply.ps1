{{> windows/_lib.ps1}}
$name = {{site.vpn.name}}
$server = {{site.vpn.gateway}} + ':' + [string]{{site.vpn.port}}
if (@(Get-Installed 'FortiClient*').Count -eq 0) {
    if (-not $env:HANDOVER_ARTIFACT_FORTICLIENT_VPN_MSI) { throw 'the forticlient-vpn-msi artifact was not staged' }
    Invoke-Installer 'msiexec.exe' (@('/i', $env:HANDOVER_ARTIFACT_FORTICLIENT_VPN_MSI, '/qn', '/norestart') + (Get-ArtifactArguments 'FORTICLIENT_VPN_MSI'))
}
# The name is one registry key below Tunnels, never a path (handover refuses \, / and .. in vpn.name; this
# guards a hand-edited script too), and every use is literal: -LiteralPath, or -Name under a fixed parent.
if (-not $name.Trim() -or $name -match '[\\/]' -or $name.Contains('..')) { throw "vpn.name '$name' must be one tunnel name, without \, / or .." }
$tunnels = 'HKLM:\SOFTWARE\Fortinet\FortiClient\Sslvpn\Tunnels'
$key = "$tunnels\$name"
if (-not (Test-Path -LiteralPath $key)) { New-Item -Path $tunnels -Name $name -Force | Out-Null }
Set-ItemProperty -LiteralPath $key -Name 'Description' -Value $name -Type String
Set-ItemProperty -LiteralPath $key -Name 'Server' -Value $server -Type String
Set-ItemProperty -LiteralPath $key -Name 'promptusername' -Value 1 -Type DWord
Set-ItemProperty -LiteralPath $key -Name 'promptcertificate' -Value 0 -Type DWord
Set-ItemProperty -LiteralPath $key -Name 'ServerCert' -Value '1' -Type String
# A 3010 from the MSI is reported only now, after the tunnel is written (review 3.4).
Complete-Apply
