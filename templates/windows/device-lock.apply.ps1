{{> windows/_lib.ps1}}
# Runs only when the check failed and no GPO or MDM owns the value: set the machine inactivity limit to the
# site's idle minutes, in seconds, where the Security Option keeps it (a DWORD, learn.microsoft.com
# "Interactive logon: Machine inactivity limit"; secpol.msc shows the same value).
# Sessions signed in before the change keep the old behaviour until Windows restarts (administrators report
# the limit taking effect only after a restart), so a change asks for one: the control stays "fail, reboot
# required" until then, never "fixed" before the lock works.
$wantSecs = [int]{{site.device_lock.idle_minutes}} * 60
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
if (-not (Test-Path $key)) { New-Item -Path $key -Force | Out-Null }
Set-ItemProperty -Path $key -Name InactivityTimeoutSecs -Value $wantSecs -Type DWord
Write-Output "InactivityTimeoutSecs set to $wantSecs"
$script:RebootRequired = $true
Complete-Apply
