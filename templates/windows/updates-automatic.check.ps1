{{> windows/_lib.ps1}}
# ITP07 7.1.3: automatic updates through the WindowsUpdate\AU policy keys (learn.microsoft.com, "Manage
# additional Windows Update settings"): NoAutoUpdate 0, AUOptions 4 (download and install on a schedule), and
# the Windows Update service not disabled.
$key = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU'
$au = Get-ItemProperty -Path $key -ErrorAction SilentlyContinue
$no = if ($au -and $au.PSObject.Properties['NoAutoUpdate']) { [int]$au.NoAutoUpdate } else { $null }
$opt = if ($au -and $au.PSObject.Properties['AUOptions']) { [int]$au.AUOptions } else { $null }
Obs 'NoAutoUpdate' $no
Obs 'AUOptions' $opt
if ($no -eq 1) { Problem 'automatic updates are turned off (NoAutoUpdate = 1)' }
if ($opt -ne 4) { Problem "AUOptions is $opt, not 4 (automatic download and scheduled install)" }
$svc = Get-Service -Name wuauserv
Obs 'wuauserv' ([string]$svc.StartType)
if ($svc.StartType -eq 'Disabled') { Problem 'the Windows Update service (wuauserv) is disabled' }
Finish 'Windows Update downloads and installs updates automatically'
