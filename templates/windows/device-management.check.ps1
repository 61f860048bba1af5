{{> windows/_lib.ps1}}
# ITP07 7.1.4: the device can be located and disabled: the site's agent running, or Entra ID join with an
# MDM (Intune) enrolment (dsregcmd /status, HKLM\SOFTWARE\Microsoft\Enrollments).
{{#if site.device_management.service}}
$svc = Get-Service -Name {{site.device_management.service}} -ErrorAction SilentlyContinue
if (-not $svc) { Result $false 'the site''s device management agent is not installed' }
Obs 'status' ([string]$svc.Status)
if ($svc.Status -ne 'Running') { Problem "$($svc.Name) is not running" }
if ($svc.StartType -ne 'Automatic') { Problem "$($svc.Name) does not start at boot" }
Finish "device management agent $($svc.Name) is running"
{{else}}
# dsregcmd /status may not answer as SYSTEM (MicrosoftDocs/azure-docs#100645), the account of the scheduled
# check: the join is also read where Windows records it, a subkey per join under
# HKLM\SYSTEM\CurrentControlSet\Control\CloudDomainJoin\JoinInfo (read the same way by RMM audit scripts, e.g.
# UpstreamAB/UpstreamPowerPack RMM-Audit-Win10-GetAzureUserName.ps1).
$joined = $false
try { $joined = [bool](& dsregcmd.exe /status 2>$null | Select-String -Pattern '^\s*AzureAdJoined\s*:\s*YES' -Quiet) } catch { Obs 'dsregcmd' ([string]$_) }
Obs 'AzureAdJoined' $joined
$joinInfo = @(Get-ChildItem -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\CloudDomainJoin\JoinInfo' -ErrorAction SilentlyContinue)
Obs 'cloud_join_info' $joinInfo.Count
if ($joinInfo.Count -gt 0) { $joined = $true }
$mdm = @(Get-ChildItem 'HKLM:\SOFTWARE\Microsoft\Enrollments' -ErrorAction SilentlyContinue |
    Get-ItemProperty -ErrorAction SilentlyContinue | Where-Object { $_.PSObject.Properties['ProviderID'] -and $_.ProviderID -eq 'MS DM Server' })
Obs 'mdm_enrolments' $mdm.Count
if ($joined -and $mdm.Count -gt 0) { Result $true 'Entra ID joined and enrolled in device management (Intune)' }
Result $false 'no device-management agent named in the site and no Intune enrolment: a technician must confirm how this device can be located and disabled' 'manual'
{{/if}}
