{{> windows/_lib.ps1}}
# ITP07 7.1.2 "Do not use an account with administrative privileges for normal working": the named user is
# not in Administrators (S-1-5-32-544); a separate, enabled admin account is.
Need-User
$u = $env:HANDOVER_USER
$a = $env:HANDOVER_ADMIN_USER
Obs 'user' $u
Obs 'admin' $a
$members = Get-AdminMembers
Obs 'administrators' $members
if (-not (Get-LocalUser -Name $u -ErrorAction SilentlyContinue)) { Problem "user $u does not exist on this device" }
if ($members -contains $u) { Problem "$u is a member of Administrators" }
$admin = Get-LocalUser -Name $a -ErrorAction SilentlyContinue
if ($admin) {
    Obs 'admin_exists' $true
    Obs 'admin_password_set' ($null -ne $admin.PasswordLastSet)
    if (-not $admin.Enabled) { Problem "the admin account $a is disabled" }
    if ($members -notcontains $a) { Problem "the admin account $a is not in Administrators" }
} else {
    Obs 'admin_exists' $false
    Problem "no separate admin account $a"
}
Finish "$u works without admin rights; $a is the separate admin account"
