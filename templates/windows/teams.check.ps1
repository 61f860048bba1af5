{{> windows/_lib.ps1}}
# ITP07 7.1.6(1): the new Teams (MSIX) provisioned for every user.
$p = Get-AppxProvisionedPackage -Online | Where-Object { $_.DisplayName -eq 'MSTeams' } | Select-Object -First 1
if (-not $p) { Result $false 'Teams (MSTeams) is not provisioned' }
Obs 'version' $p.Version
Result $true "Teams $($p.Version) provisioned"
