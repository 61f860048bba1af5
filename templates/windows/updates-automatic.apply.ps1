{{> windows/_lib.ps1}}
# Runs only when the check failed: a policy turned automatic updates off or down, or wuauserv is disabled.
# The policy written is "download automatically and schedule the install" (AUOptions 4, every day at 03:00),
# with NoAutoRebootWithLoggedOnUsers 1 so that a signed-in user's long job is not restarted at 03:00: the user
# is told and restarts (learn.microsoft.com, "Manage additional Windows Update settings", registry keys for
# Automatic Updates).
$key = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU'
if (-not (Test-Path $key)) { New-Item -Path $key -Force | Out-Null }
Set-ItemProperty -Path $key -Name NoAutoUpdate -Value 0 -Type DWord
Set-ItemProperty -Path $key -Name AUOptions -Value 4 -Type DWord
Set-ItemProperty -Path $key -Name ScheduledInstallDay -Value 0 -Type DWord
Set-ItemProperty -Path $key -Name ScheduledInstallTime -Value 3 -Type DWord
Set-ItemProperty -Path $key -Name NoAutoRebootWithLoggedOnUsers -Value 1 -Type DWord
if ((Get-Service -Name wuauserv).StartType -eq 'Disabled') { Set-Service -Name wuauserv -StartupType Manual }
