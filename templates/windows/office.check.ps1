{{> windows/_lib.ps1}}
# ITP07 7.1.6(1): Microsoft 365 Apps (Click-to-Run) installed, with updates enabled.
$c2r = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Office\ClickToRun\Configuration' -ErrorAction SilentlyContinue
if (-not $c2r -or -not $c2r.PSObject.Properties['ProductReleaseIds']) { Result $false 'Microsoft 365 Apps are not installed' }
Obs 'ProductReleaseIds' $c2r.ProductReleaseIds
Obs 'VersionToReport' $(if ($c2r.PSObject.Properties['VersionToReport']) { $c2r.VersionToReport } else { $null })
if ($c2r.ProductReleaseIds -notmatch 'O365ProPlusRetail|O365BusinessRetail') { Problem "no Microsoft 365 Apps product among $($c2r.ProductReleaseIds)" }
if ($c2r.PSObject.Properties['UpdatesEnabled'] -and $c2r.UpdatesEnabled -eq 'False') { Problem 'Office updates are disabled' }
Finish 'Microsoft 365 Apps installed, updates enabled'
