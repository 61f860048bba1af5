{{> windows/_lib.ps1}}
$session = New-Object -ComObject Microsoft.Update.Session
$found = $session.CreateUpdateSearcher().Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
$todo = New-Object -ComObject Microsoft.Update.UpdateColl
foreach ($up in $found.Updates) {
    if (@($up.Categories | ForEach-Object { $_.CategoryID }) -contains '0fa1201d-4330-4fa8-8ae9-b877473b6441') {
        if (-not $up.EulaAccepted) { $up.AcceptEula() }
        $null = $todo.Add($up)
        Write-Output "installing $($up.Title)"
    }
}
if ($todo.Count -gt 0) {
    $dl = $session.CreateUpdateDownloader()
    $dl.Updates = $todo
    $null = $dl.Download()
    $inst = $session.CreateUpdateInstaller()
    $inst.Updates = $todo
    $r = $inst.Install()
    if ($r.RebootRequired) { exit 194 }
    if ($r.ResultCode -ne 2) { throw "Windows Update installation result code $($r.ResultCode)" }
}
