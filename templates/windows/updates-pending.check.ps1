{{> windows/_lib.ps1}}
{{> windows/_wua.ps1}}
# ITP07 7.1.3: no security updates waiting, from the Windows Update Agent (category "Security Updates",
# 0FA1201D-4330-4FA8-8AE9-B877473B6441), and no reboot pending to finish installed ones.
$remote = Test-NetworkLogon
Obs 'network_logon' $remote
try {
    $session = New-Object -ComObject Microsoft.Update.Session
    $searcher = $session.CreateUpdateSearcher()
    $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
    Obs 'installer_busy' ([bool]$session.CreateUpdateInstaller().IsBusy)
} catch {
    Result $false (Get-WuaReason $_) 'error'
}
$security = @($found.Updates | Where-Object { @($_.Categories | ForEach-Object { $_.CategoryID }) -contains '0fa1201d-4330-4fa8-8ae9-b877473b6441' } | ForEach-Object { $_.Title })
Obs 'pending' $security
if ($security.Count -gt 0) { Problem ("{0} security updates waiting: {1}" -f $security.Count, (($security | Select-Object -First 5) -join '; ')) }
if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { Problem 'reboot required to finish installed updates' }
Finish 'no security updates waiting'
