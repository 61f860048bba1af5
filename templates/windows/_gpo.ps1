# The Group Policy object, other than this computer's local policy, that sets VALUE under the HKLM key KEY
# (as Group Policy writes it: 'Software\...'), by its name; $null when none does or Resultant Set of Policy
# cannot be read. Group Policy logs what it applied in the root\rsop\computer WMI namespace: Administrative
# Templates as RSOP_RegistryPolicySetting (registryKey, valueName), Security Options as RSOP_RegistryValue
# (path 'MACHINE\KEY\VALUE'), each with the GPOID of the GPO that won (precedence 1), named by RSOP_GPO.
# https://learn.microsoft.com/en-us/previous-versions/windows/desktop/policy/rsop-registrypolicysetting
# https://learn.microsoft.com/en-us/previous-versions/windows/desktop/policy/rsop-registryvalue
function Get-GpoOwner([string]$Key, [string]$Name) {
    $ns = 'root\rsop\computer'
    # Each class on its own: a computer that never applied Security Settings may lack one of them.
    $hits = @()
    try {
        $hits += @(Get-CimInstance -Namespace $ns -ClassName RSOP_RegistryPolicySetting -Filter 'precedence=1' -OperationTimeoutSec 30 -ErrorAction Stop | Where-Object { $_.registryKey -eq $Key -and $_.valueName -eq $Name })
    } catch { }
    try {
        $hits += @(Get-CimInstance -Namespace $ns -ClassName RSOP_RegistryValue -Filter 'precedence=1' -OperationTimeoutSec 30 -ErrorAction Stop | Where-Object { $_.path -eq "MACHINE\$Key\$Name" })
    } catch { }
    foreach ($h in $hits) {
        if ($h.GPOID -and $h.GPOID -ne 'LocalGPO') {
            $gpo = @(Get-CimInstance -Namespace $ns -ClassName RSOP_GPO -OperationTimeoutSec 30 -ErrorAction SilentlyContinue | Where-Object { $_.id -eq $h.GPOID })
            if ($gpo.Count -gt 0) { return [string]$gpo[0].name }
            return [string]$h.GPOID
        }
    }
    return $null
}

# A DWORD value of a registry key, or $null when the key or the value is absent.
function Get-DwordValue([string]$Path, [string]$Name) {
    $p = Get-ItemProperty -Path $Path -ErrorAction SilentlyContinue
    if ($p -and $p.PSObject.Properties[$Name]) { return [int64]$p.$Name }
    return $null
}
