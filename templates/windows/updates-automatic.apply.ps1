{{> windows/_lib.ps1}}
$key = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU'
if (-not (Test-Path $key)) { New-Item -Path $key -Force | Out-Null }
Set-ItemProperty -Path $key -Name NoAutoUpdate -Value 0 -Type DWord
Set-ItemProperty -Path $key -Name AUOptions -Value 4 -Type DWord
Set-ItemProperty -Path $key -Name ScheduledInstallDay -Value 0 -Type DWord
Set-ItemProperty -Path $key -Name ScheduledInstallTime -Value 3 -Type DWord
if ((Get-Service -Name wuauserv).StartType -eq 'Disabled') { Set-Service -Name wuauserv -StartupType Manual }
