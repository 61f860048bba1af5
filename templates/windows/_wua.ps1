# Windows Update Agent failures in words. The COM error's HRESULT is on the innermost exception; the common ones
# from learn.microsoft.com "WUA Success and Error Codes" and "Windows Update error codes", and E_ACCESSDENIED,
# which WUA returns to network logons: "a limitation of the Windows Update API itself. It must be run locally.
# Any remote session will return error" (mgajda83/PSWindowsUpdate#18; over SSH even the search, on Windows 11
# after KB5065789: #60, PowerShell/Win32-OpenSSH#2310; over WinRM: PowerShell/PowerShell#15207).
function Get-WuaReason($ErrorRecord) {
    $ex = $ErrorRecord.Exception
    while ($ex.InnerException) { $ex = $ex.InnerException }
    $hr = '{0:X8}' -f $ex.HResult
    $words = @{
        '80070005' = 'access denied (E_ACCESSDENIED): Windows Update refuses sessions that sign in over the network (SSH, WinRM); run handover at the device, or as SYSTEM from its scheduled job'
        '80240044' = 'only a local administrator may do this (WU_E_PER_MACHINE_UPDATE_ACCESS_DENIED): Windows Update refuses sessions that sign in over the network (SSH, WinRM); run handover at the device'
        '80240009' = 'another Windows Update operation is running (WU_E_OPERATIONINPROGRESS): run apply again when it has finished'
        '80240016' = 'Windows is installing other updates or waits for a restart (WU_E_INSTALL_NOT_ALLOWED): restart or wait, then run apply again'
        '8024001E' = 'the Windows Update service is stopping (WU_E_SERVICE_STOP)'
        '80070422' = 'the Windows Update service is disabled (ERROR_SERVICE_DISABLED)'
        '8024402C' = 'the update server cannot be reached: no network, or a proxy in the way (WU_E_PT_WINHTTP_NAME_NOT_RESOLVED)'
        '80072EE2' = 'the update server timed out (ERROR_INTERNET_TIMEOUT): check the network'
        '80072EFD' = 'the update server cannot be reached (ERROR_INTERNET_CANNOT_CONNECT): check the network'
        '80072EE7' = 'the update server''s name does not resolve (ERROR_INTERNET_NAME_NOT_RESOLVED): check the network'
        '8024A008' = 'Windows Update cannot act while Windows Welcome (OOBE) is running (WU_E_AU_OOBE_IN_PROGRESS)'
    }
    if ($words.ContainsKey($hr)) { return "Windows Update: $($words[$hr]) (0x$hr)" }
    return "Windows Update failed with 0x${hr}: $($ex.Message)"
}
