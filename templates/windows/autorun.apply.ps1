{{> windows/_lib.ps1}}
# Runs only when the check failed and no GPO or MDM owns the values: AutoRun off for every drive type and
# autorun.inf commands never run, machine-wide (the keys the check names, with its sources). Explorer reads
# them when media arrive: no restart is needed.
$key = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'
if (-not (Test-Path $key)) { New-Item -Path $key -Force | Out-Null }
Set-ItemProperty -Path $key -Name NoDriveTypeAutoRun -Value 255 -Type DWord
Set-ItemProperty -Path $key -Name NoAutorun -Value 1 -Type DWord
Write-Output 'NoDriveTypeAutoRun 255 and NoAutorun 1 set'
