{{> windows/_lib.ps1}}
{{> windows/_gpo.ps1}}
# ITP07 7.1, Cyber Essentials "auto-run disabled": AutoRun and AutoPlay off for every drive type.
# HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer:
# - NoDriveTypeAutoRun 0xFF (255) turns AutoRun off on every drive type (learn.microsoft.com/windows/win32/
#   shell/autoplay-reg, "Using the Registry to Disable AutoRun"); it is what the Group Policy "Turn off
#   Autoplay: All drives" writes.
# - NoAutorun 1: autorun.inf commands are never run (Group Policy "Set the default behavior for AutoRun: Do
#   not execute any autorun commands"; Policy CSP Autoplay/SetDefaultAutoRunBehavior; support.microsoft.com
#   KB967715 "How to disable the Autorun functionality in Windows").
# The machine (HKLM) values are the ones checked: they hold for every user.
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
$types = Get-DwordValue $key 'NoDriveTypeAutoRun'
$noAutorun = Get-DwordValue $key 'NoAutorun'
Obs 'NoDriveTypeAutoRun' $types
Obs 'NoAutorun' $noAutorun
if ($types -ne 255) { Problem ('NoDriveTypeAutoRun is {0}, not 255 (AutoRun off for every drive type)' -f $(if ($null -eq $types) { 'absent' } else { $types })) }
if ($noAutorun -ne 1) { Problem ('NoAutorun is {0}, not 1 (autorun.inf commands never run)' -f $(if ($null -eq $noAutorun) { 'absent' } else { $noAutorun })) }
if ($script:Problems.Count -eq 0) { Result $true 'AutoRun and AutoPlay are off for every drive type (NoDriveTypeAutoRun 255, NoAutorun 1)' }
$owners = @()
foreach ($name in 'NoDriveTypeAutoRun', 'NoAutorun') {
    $g = Get-GpoOwner 'Software\Microsoft\Windows\CurrentVersion\Policies\Explorer' $name
    if ($g) { $owners += "$name by '$g'" }
}
if ($owners.Count -gt 0) { Result $false ("managed by Group Policy ({0}): {1}; change it there" -f ($owners -join ', '), ($script:Problems -join '; ')) 'error' }
if (Test-Path 'HKLM:\SOFTWARE\Microsoft\PolicyManager\current\device\Autoplay') {
    Result $false ("managed by MDM (Policy CSP Autoplay): {0}; change it in the device-management service" -f ($script:Problems -join '; ')) 'error'
}
Finish ''
