{{> windows/_lib.ps1}}
{{> windows/_wua.ps1}}
# Download and install the waiting security updates through the Windows Update Agent. Two states are known
# to fail, and are refused first with a reason: a network logon (WUA will not download or install for SSH or
# WinRM sessions, see _wua.ps1), and Windows already installing: "While an installation or uninstallation is in
# progress, a new installation ... immediately fails with the WU_E_OPERATIONINPROGRESS error"
# (learn.microsoft.com, IUpdateInstaller::get_IsBusy), the usual state of a freshly imaged device.
if (Test-NetworkLogon) {
    throw 'Windows Update will not download or install updates for a session that signed in over the network (SSH, WinRM; mgajda83/PSWindowsUpdate#18): run handover apply at the device, or over RDP, or as SYSTEM from its scheduled job'
}
try {
    $session = New-Object -ComObject Microsoft.Update.Session
    $inst = $session.CreateUpdateInstaller()
    if ($inst.IsBusy) { throw 'Windows is already installing updates (IUpdateInstaller.IsBusy): run apply again when it has finished' }
    $found = $session.CreateUpdateSearcher().Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
    $todo = New-Object -ComObject Microsoft.Update.UpdateColl
    foreach ($up in $found.Updates) {
        if (@($up.Categories | ForEach-Object { $_.CategoryID }) -contains '0fa1201d-4330-4fa8-8ae9-b877473b6441') {
            if (-not $up.EulaAccepted) { $up.AcceptEula() }
            $null = $todo.Add($up)
            Write-Output "installing $($up.Title)"
        }
    }
    if ($todo.Count -eq 0) { return }
    $dl = $session.CreateUpdateDownloader()
    $dl.Updates = $todo
    $d = $dl.Download()
    # OperationResultCode: 2 succeeded, 3 succeeded with errors, 4 failed, 5 aborted.
    if ($d.ResultCode -ge 4) { throw "Windows Update could not download the updates (result code $($d.ResultCode))" }
    $inst.Updates = $todo
    $r = $inst.Install()
} catch {
    if ([string]$_ -like 'Windows *') { throw }
    throw (Get-WuaReason $_)
}
# Every update that did not install is named, before any restart: a partly failed install that also wants a
# restart is an error, not only "reboot required".
$failed = @()
for ($i = 0; $i -lt $todo.Count; $i++) {
    $u = $r.GetUpdateResult($i)
    if ($u.ResultCode -ne 2) { $failed += ('{0} (result {1}, 0x{2:X8})' -f $todo.Item($i).Title, $u.ResultCode, $u.HResult) }
}
if ($r.RebootRequired) { $script:RebootRequired = $true }
if ($r.ResultCode -ne 2 -or $failed.Count -gt 0) {
    $restart = if ($r.RebootRequired) { '; a restart is also needed for those that did install' } else { '' }
    throw ("Windows Update installed {0} of {1} updates (result code {2}); failed: {3}{4}" -f ($todo.Count - $failed.Count), $todo.Count, $r.ResultCode, ($failed -join '; '), $restart)
}
Complete-Apply
