{{> windows/_lib.ps1}}
# ITP07 7.1: the system drive encrypted by BitLocker with protection on. Check only: apply never starts
# encryption (the recovery key would need escrow). Windows Home has no BitLocker cmdlets.
if (-not (Get-Command Get-BitLockerVolume -ErrorAction SilentlyContinue)) { Result $false 'BitLocker is not available on this edition: a technician must confirm device encryption' 'manual' }
$v = Get-BitLockerVolume -MountPoint $env:SystemDrive
Obs 'VolumeStatus' ([string]$v.VolumeStatus)
Obs 'ProtectionStatus' ([string]$v.ProtectionStatus)
if ([string]$v.ProtectionStatus -ne 'On') { Result $false "BitLocker protection is $($v.ProtectionStatus) on $env:SystemDrive ($($v.VolumeStatus)): encrypt at install, or record a waiver" }
Result $true "$env:SystemDrive is encrypted by BitLocker ($($v.EncryptionMethod))"
