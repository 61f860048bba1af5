{{> windows/_lib.ps1}}
{{> windows/_wua.ps1}}
# ITP07 7.1.3: no security updates waiting, from the Windows Update Agent (category "Security Updates",
# 0FA1201D-4330-4FA8-8AE9-B877473B6441), and no reboot pending to finish installed ones.
try {
    $session = New-Object -ComObject Microsoft.Update.Session
    $searcher = $session.CreateUpdateSearcher()
    $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
    Obs 'installer_busy' ([bool]$session.CreateUpdateInstaller().IsBusy)
} catch {
    $err = $_
    # Only a failed search needs to know whether this session signed in over the network (Windows Update
    # refuses those, see _wua.ps1): asking loads CimCmdlets and queries every process (Get-AncestorNames),
    # so a search that worked never asks.
    Obs 'network_logon' (Test-NetworkLogon)
    Result $false (Get-WuaReason $err) 'error'
}
$waiting = @($found.Updates | Where-Object { @($_.Categories | ForEach-Object { $_.CategoryID }) -contains '0fa1201d-4330-4fa8-8ae9-b877473b6441' })
$security = @($waiting | ForEach-Object { $_.Title })
Obs 'pending' $security
# Patch age (Cyber Essentials: high and critical fixes within 14 days, the site's [updates] max_age_days): the
# oldest LastDeploymentChangeTime of the waiting security updates: "the last published date of the update, in
# Coordinated Universal Time (UTC) date and time, on the server that deploys the update" (learn.microsoft.com,
# IUpdate::get_LastDeploymentChangeTime; under WSUS the date it was approved there). A republished update has its
# newer date: the age is a lower bound.
$maxAge = [int]{{site.updates.max_age_days}}
Obs 'max_age_days' $maxAge
if ($security.Count -gt 0) {
    $now = [DateTimeOffset]::FromUnixTimeSeconds([long]$env:HANDOVER_NOW_EPOCH).UtcDateTime
    $oldest = $null
    foreach ($u in $waiting) {
        $t = $u.LastDeploymentChangeTime
        if ($t -is [datetime] -and $t.Year -gt 2000 -and ($null -eq $oldest -or $t -lt $oldest.LastDeploymentChangeTime)) { $oldest = $u }
    }
    $names = ($security | Select-Object -First 5) -join '; '
    if ($null -ne $oldest) {
        $age = [int][math]::Max(0, [math]::Floor(($now - $oldest.LastDeploymentChangeTime).TotalDays))
        Obs 'oldest_pending' $oldest.Title
        Obs 'oldest_pending_days' $age
        Obs 'oldest_pending_source' 'Windows Update: LastDeploymentChangeTime'
        if ($age -gt $maxAge) {
            Problem ("{0} security updates waiting, the oldest for {1} days: past the {2}-day window: {3}" -f $security.Count, $age, $maxAge, $names)
        } else {
            Problem ("{0} security updates waiting, the oldest for {1} days (within the {2}-day window): {3}" -f $security.Count, $age, $maxAge, $names)
        }
    } else {
        Obs 'oldest_pending_days' $null
        Obs 'oldest_pending_source' 'unknown: Windows Update gives no LastDeploymentChangeTime for the waiting updates'
        Problem ("{0} security updates waiting (age unknown): {1}" -f $security.Count, $names)
    }
} else {
    Obs 'oldest_pending_source' 'nothing pending'
}
if (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { Problem 'reboot required to finish installed updates' }
Finish 'no security updates waiting'
