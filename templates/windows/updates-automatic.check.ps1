{{> windows/_lib.ps1}}
# ITP07 7.1.3: Windows Update downloads and installs updates by itself. Read, in this order: the Group Policy
# keys (HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU, learn.microsoft.com "Manage additional
# Windows Update settings"), the MDM policy (Policy CSP Update/AllowAutoUpdate, as Intune writes it under
# HKLM\SOFTWARE\Microsoft\PolicyManager\current\device\Update), and the Windows Update service.
# Decision: with no policy at all, Windows' own default holds, and it is automatic: Policy CSP
# Update/AllowAutoUpdate documents its default as 2, "auto install and restart", and "Configure Automatic
# Updates" left Not Configured leaves Windows to download and install on its own schedule. A stock Windows 11
# therefore passes, saying so, instead of failing until a policy is written.
$au = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' -ErrorAction SilentlyContinue
$no = if ($au -and $au.PSObject.Properties['NoAutoUpdate']) { [int]$au.NoAutoUpdate } else { $null }
$opt = if ($au -and $au.PSObject.Properties['AUOptions']) { [int]$au.AUOptions } else { $null }
$mdmKey = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\PolicyManager\current\device\Update' -ErrorAction SilentlyContinue
$mdm = if ($mdmKey -and $mdmKey.PSObject.Properties['AllowAutoUpdate']) { [int]$mdmKey.AllowAutoUpdate } else { $null }
Obs 'NoAutoUpdate' $no
Obs 'AUOptions' $opt
Obs 'mdm_AllowAutoUpdate' $mdm
$svc = Get-Service -Name wuauserv
Obs 'wuauserv' ([string]$svc.StartType)
if ($svc.StartType -eq 'Disabled') { Problem 'the Windows Update service (wuauserv) is disabled' }
# MDM AllowAutoUpdate: 0 notify only, 1-4 install automatically, 5 off. An MDM setting is the MDM's to change.
if ($null -ne $mdm -and ($mdm -eq 0 -or $mdm -eq 5)) {
    Result $false "managed by MDM: the Update/AllowAutoUpdate policy is $mdm ($(if ($mdm -eq 5) { 'automatic updates off' } else { 'notify only' })); change it in the device-management service" 'error'
}
if ($no -eq 1) { Problem 'automatic updates are turned off by policy (NoAutoUpdate = 1)' }
elseif ($null -ne $opt -and $opt -ne 4) { Problem "AUOptions is $opt, not 4 (automatic download and scheduled install)" }
if ($script:Problems.Count -gt 0) { Finish '' }
if ($opt -eq 4) { Result $true 'Windows Update downloads and installs updates automatically (AUOptions 4 by policy)' }
if ($null -ne $mdm) { Result $true "Windows Update installs updates automatically (MDM AllowAutoUpdate $mdm)" }
Result $true 'Windows default: updates download and install automatically (no Windows Update policy is set, and wuauserv is not disabled)'
