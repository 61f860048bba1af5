{{> windows/_lib.ps1}}
# SPEC 7, in this order: create the separate admin, verify it, and only then remove the user from Administrators.
$u = $env:HANDOVER_USER
$a = $env:HANDOVER_ADMIN_USER
if (-not $u -or -not $a) { throw 'no user named' }
$admin = Get-LocalUser -Name $a -ErrorAction SilentlyContinue
if (-not $admin) {
    if (-not $env:HANDOVER_SECRET_ADMIN_PASSWORD) { throw "no password for the new account $a" }
    $pw = ConvertTo-SecureString -String $env:HANDOVER_SECRET_ADMIN_PASSWORD -AsPlainText -Force
    $admin = New-LocalUser -Name $a -Password $pw -Description "separate admin account of $u" -PasswordNeverExpires:$false
    Write-Output "created $a"
} elseif ($env:HANDOVER_SECRET_ADMIN_PASSWORD) {
    $pw = ConvertTo-SecureString -String $env:HANDOVER_SECRET_ADMIN_PASSWORD -AsPlainText -Force
    Set-LocalUser -Name $a -Password $pw
    Write-Output "set the password of $a"
}
if (-not $admin.Enabled) { Enable-LocalUser -Name $a }
if ((Get-AdminMembers) -notcontains $a) { Add-LocalGroupMember -SID 'S-1-5-32-544' -Member $a }
if ($env:HANDOVER_SECRET_ADMIN_PASSWORD) {
    & net.exe user $a /logonpasswordchg:yes | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "net user $a /logonpasswordchg:yes failed ($LASTEXITCODE)" }
}
# Verify before anything is taken away.
$check = Get-LocalUser -Name $a
if (-not $check.Enabled -or (Get-AdminMembers) -notcontains $a) { throw "verification failed: $a is not an enabled administrator" }
Write-Output "verified $a"
$users = (Get-LocalGroup -SID 'S-1-5-32-545').Name
if ((Get-LocalGroupMember -SID 'S-1-5-32-545' -ErrorAction SilentlyContinue | ForEach-Object { ($_.Name -split '\\')[-1] }) -notcontains $u) {
    Add-LocalGroupMember -SID 'S-1-5-32-545' -Member $u
    Write-Output "added $u to $users"
}
if ((Get-AdminMembers) -contains $u) {
    # SPEC 7, as templates/linux/separate-admin.apply.sh does it: demote only when someone knows the password of
    # the separate admin: handover set it in this run or an earlier one, or a technician attested the account
    # (the engine then sets HANDOVER_ADMIN_PASSWORD_KNOWN=1). Otherwise the device could be left with one
    # administrator nobody can sign in as (the built-in Administrator is disabled on Windows 11).
    if ($env:HANDOVER_ADMIN_PASSWORD_KNOWN -ne '1') {
        throw "not removing $u from Administrators: handover has not set the password of $a (in this run or an earlier one) and nobody attested it, so no one may know it; give --admin-password-file FILE, or --attest accounts.separate-admin once someone has signed in as $a"
    }
    Remove-LocalGroupMember -SID 'S-1-5-32-544' -Member $u
    Write-Output "removed $u from Administrators"
}
