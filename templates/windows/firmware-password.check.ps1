{{> windows/_lib.ps1}}
# ITP07 7.1.2: the BIOS/UEFI admin password, from the vendor's WMI class where it exists (Dell, HP, Lenovo).
function Try-Cim([string]$Namespace, [string]$Class, [string]$Filter) {
    try {
        if ($Filter) { Get-CimInstance -Namespace $Namespace -ClassName $Class -Filter $Filter -OperationTimeoutSec 30 -ErrorAction Stop }
        else { Get-CimInstance -Namespace $Namespace -ClassName $Class -OperationTimeoutSec 30 -ErrorAction Stop }
    } catch { $null }
}
$dell = Try-Cim 'root/dcim/sysman/wmisecurity' 'PasswordObject' "NameId='Admin'"
if ($dell) { Obs 'dell_admin_password_set' $dell.IsPasswordSet; if ($dell.IsPasswordSet -eq 1) { Result $true 'Dell BIOS admin password is set' } else { Result $false 'Dell BIOS admin password is not set' } }
$hp = Try-Cim 'root/HP/InstrumentedBIOS' 'HP_BIOSPassword' "Name='Setup Password'"
if ($hp) { Obs 'hp_setup_password_set' $hp.IsSet; if ($hp.IsSet -eq 1) { Result $true 'HP BIOS setup password is set' } else { Result $false 'HP BIOS setup password is not set' } }
$lenovo = Try-Cim 'root/wmi' 'Lenovo_BiosPasswordSettings' ''
if ($lenovo) {
    # PasswordState is a bit mask; bit 1 (value 2) is the supervisor password.
    Obs 'lenovo_password_state' $lenovo.PasswordState
    if (($lenovo.PasswordState -band 2) -ne 0) { Result $true 'Lenovo supervisor password is set' } else { Result $false 'Lenovo supervisor password is not set' }
}
Result $false 'no vendor interface here reports the BIOS/UEFI admin password: a technician must confirm it' 'manual'
