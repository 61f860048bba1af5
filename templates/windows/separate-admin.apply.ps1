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
    Remove-LocalGroupMember -SID 'S-1-5-32-544' -Member $u
    Write-Output "removed $u from Administrators"
}
