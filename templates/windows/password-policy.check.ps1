{{> windows/_lib.ps1}}
# ITP07 7.1.2: minimum length and complexity from the local security policy (secedit /export, Get-LocalSecurityPolicy
# in _lib.ps1). Domain, Intune or GPO settings override local ones. No enabled local account may have an empty
# password: PasswordRequired is only the UF_PASSWD_NOTREQD flag, not "has a password", so each enabled account
# is also tried with an empty password (Test-BlankPassword in _lib.ps1, which says what that costs).
$want = [int]{{site.accounts.password_min_length}}
$classes = [int]{{site.accounts.password_min_classes}}
$policy = Get-LocalSecurityPolicy
$len = if ($policy.ContainsKey('MinimumPasswordLength')) { [int]$policy['MinimumPasswordLength'] } else { 0 }
$complex = $policy.ContainsKey('PasswordComplexity') -and $policy['PasswordComplexity'] -eq '1'
Obs 'minimum_length' $len
Obs 'complexity' $complex
if ($len -lt $want) { Problem "minimum password length is $len, not at least $want" }
if ($want -gt 14) {
    # More than 14 needs "Relax minimum password length limits" (Windows 10 2004 and later; saltstack/salt#63605).
    $sam = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\SAM' -ErrorAction SilentlyContinue
    $relaxed = [bool]($sam -and $sam.PSObject.Properties['RelaxMinimumPasswordLengthLimits'] -and [int]$sam.RelaxMinimumPasswordLengthLimits -eq 1)
    Obs 'relax_minimum_password_length_limits' $relaxed
    if (-not $relaxed) { Problem 'the site asks for more than 14 characters and RelaxMinimumPasswordLengthLimits is not set' }
}
# Windows complexity asks for three of four classes; more cannot be set locally.
if ($classes -gt 1 -and -not $complex) { Problem 'password complexity is off' }
if ($classes -gt 3) { Problem "the site asks for $classes character classes; Windows complexity enforces 3" }
$enabled = @(Get-LocalUser | Where-Object { $_.Enabled })
$noPassword = @($enabled | Where-Object { -not $_.PasswordRequired } | ForEach-Object { $_.Name })
Obs 'enabled_without_required_password' $noPassword
if ($noPassword.Count -gt 0) { Problem ("enabled accounts that need no password: " + ($noPassword -join ', ')) }
$blank = @(); $unknown = @()
foreach ($u in $enabled) {
    $state = Test-BlankPassword $u.Name
    if ($state -eq 'blank') { $blank += $u.Name } elseif ($state -ne 'set') { $unknown += "$($u.Name): $state" }
}
Obs 'enabled_with_empty_password' $blank
Obs 'password_state_unknown' $unknown
if ($blank.Count -gt 0) { Problem ("enabled accounts with an empty password: " + ($blank -join ', ') + " (apply makes them choose one at next sign-in)") }
Finish "passwords need $want characters and complexity; every enabled account has one"
