{{> windows/_lib.ps1}}
$want = {{lookup site.accounts params.name_key}}
$rid = [int]{{params.rid}}
$a = Get-BuiltinAccount $rid
if (-not $a) { exit 0 }
if ($rid -eq 500) {
    # SPEC 7: never lock the technician out. Another enabled administrator, verified in this run, must
    # exist before the built-in administrator is disabled.
    $admin = $env:HANDOVER_ADMIN_USER
    if (-not $admin) { throw 'refusing to disable the built-in administrator: no separate admin account named' }
    $other = Get-LocalUser -Name $admin -ErrorAction SilentlyContinue
    if (-not $other -or -not $other.Enabled -or (Get-AdminMembers) -notcontains $admin) {
        throw "refusing to disable the built-in administrator: $admin is not an enabled member of Administrators"
    }
}
if ($a.Name -ne $want) {
    Rename-LocalUser -SID $a.SID -NewName $want
    Write-Output "renamed $($a.Name) to $want"
}
if ($a.Enabled) {
    Disable-LocalUser -SID $a.SID
    Write-Output "disabled $want"
}
