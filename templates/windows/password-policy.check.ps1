{{> windows/_lib.ps1}}
# ITP07 7.1.2: minimum length and complexity from the local security policy (secedit /export writes UTF-16;
# `net accounts` is not parsed: its labels are localised). Domain, Intune or GPO settings override local ones.
$want = [int]{{site.accounts.password_min_length}}
$classes = [int]{{site.accounts.password_min_classes}}
$inf = Join-Path $env:TEMP ("handover-secpol-{0}.inf" -f [guid]::NewGuid())
try {
    $null = & secedit.exe /export /cfg $inf /areas SECURITYPOLICY /quiet
    $lines = Get-Content -LiteralPath $inf -Encoding Unicode
} finally {
    Remove-Item -LiteralPath $inf -ErrorAction SilentlyContinue
}
$policy = @{}
foreach ($l in $lines) { if ($l -match '^\s*(\w+)\s*=\s*(.*?)\s*$') { $policy[$Matches[1]] = $Matches[2] } }
$len = if ($policy.ContainsKey('MinimumPasswordLength')) { [int]$policy['MinimumPasswordLength'] } else { 0 }
$complex = $policy.ContainsKey('PasswordComplexity') -and $policy['PasswordComplexity'] -eq '1'
Obs 'minimum_length' $len
Obs 'complexity' $complex
if ($len -lt $want) { Problem "minimum password length is $len, not at least $want" }
# Windows complexity asks for three of four classes; more cannot be set locally.
if ($classes -gt 1 -and -not $complex) { Problem 'password complexity is off' }
if ($classes -gt 3) { Problem "the site asks for $classes character classes; Windows complexity enforces 3" }
$noPassword = @(Get-LocalUser | Where-Object { $_.Enabled -and -not $_.PasswordRequired } | ForEach-Object { $_.Name })
Obs 'enabled_without_required_password' $noPassword
if ($noPassword.Count -gt 0) { Problem ("enabled accounts that need no password: " + ($noPassword -join ', ')) }
Finish "passwords need $want characters and complexity; every enabled account needs one"
