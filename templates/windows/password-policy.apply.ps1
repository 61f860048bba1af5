{{> windows/_lib.ps1}}
# ITP07 7.1.2 and SPEC 2: set the policy, require passwords, and expire the passwords set before this apply
# changed the policy, once: only when this run changed something, so a second apply expires nothing.
$want = [int]{{site.accounts.password_min_length}}
$changedAt = Get-Date
$changed = $false
$policy = Get-LocalSecurityPolicy
$len = if ($policy.ContainsKey('MinimumPasswordLength')) { [int]$policy['MinimumPasswordLength'] } else { 0 }
$complex = $policy.ContainsKey('PasswordComplexity') -and $policy['PasswordComplexity'] -eq '1'
if ($want -gt 14) {
    # Windows caps the minimum length at 14 unless "Relax minimum password length limits" is on (Windows 10
    # 2004 and later): learn.microsoft.com, "Minimum password length" (security policy settings);
    # saltstack/salt#63605 sets the same value before a longer minimum.
    $sam = 'HKLM:\SYSTEM\CurrentControlSet\Control\SAM'
    $cur = Get-ItemProperty -Path $sam -ErrorAction SilentlyContinue
    if (-not ($cur -and $cur.PSObject.Properties['RelaxMinimumPasswordLengthLimits'] -and [int]$cur.RelaxMinimumPasswordLengthLimits -eq 1)) {
        Set-ItemProperty -Path $sam -Name RelaxMinimumPasswordLengthLimits -Value 1 -Type DWord
        Write-Output 'set RelaxMinimumPasswordLengthLimits (a minimum above 14 characters)'
    }
}
if ($len -lt $want -or -not $complex) {
    # Length and complexity in one security template through secedit /configure (`net accounts /minpwlen`
    # stops at 14, and complexity has no `net accounts` switch).
    $dir = Join-Path $env:TEMP ("handover-{0}" -f [guid]::NewGuid())
    New-Item -ItemType Directory -Path $dir | Out-Null
    try {
        $inf = Join-Path $dir 'policy.inf'
        Set-Content -LiteralPath $inf -Encoding Unicode -Value @('[Unicode]', 'Unicode=yes', '[System Access]', "MinimumPasswordLength = $([Math]::Max($want, $len))", 'PasswordComplexity = 1', '[Version]', 'signature="$CHICAGO$"', 'Revision=1')
        & secedit.exe /configure /db (Join-Path $dir 'p.sdb') /cfg $inf /areas SECURITYPOLICY /quiet | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed ($LASTEXITCODE)" }
    } finally {
        Remove-Item -LiteralPath $dir -Recurse -ErrorAction SilentlyContinue
    }
    $changed = $true
    Write-Output "password policy: at least $([Math]::Max($want, $len)) characters, complexity on"
}
# Never expired here: the separate admin (made and given a password by accounts.separate-admin a moment ago;
# its own apply already makes it change that password), the account running handover (the technician's), the
# site's allowed (service) accounts, whose tasks and services would stop, and the disabled built-ins.
$admin = if ($env:HANDOVER_ADMIN_USER) { $env:HANDOVER_ADMIN_USER } elseif ($env:HANDOVER_USER) { $env:HANDOVER_USER + {{site.accounts.admin_suffix}} } else { $null }
$keep = @($admin) + @({{#each site.accounts.allowed}}{{this}}, {{/each}}$null) | Where-Object { $_ }
$me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
foreach ($u in Get-LocalUser | Where-Object { $_.Enabled }) {
    if (-not $u.PasswordRequired) {
        & net.exe user $u.Name /passwordreq:yes | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "net user $($u.Name) /passwordreq:yes failed ($LASTEXITCODE)" }
        $changed = $true
        Write-Output "$($u.Name) now needs a password"
    }
}
foreach ($u in Get-LocalUser | Where-Object { $_.Enabled }) {
    if ($keep -contains $u.Name -or $u.SID.Value -eq $me -or $u.SID.Value -match '-(500|501|503|504)$') { continue }
    # An empty password is replaced at next sign-in, whatever the policy did; an older one only when this
    # run changed the policy, and only if it was set before that change.
    $blank = (Test-BlankPassword $u.Name) -eq 'blank'
    $older = $changed -and $null -ne $u.PasswordLastSet -and $u.PasswordLastSet -lt $changedAt
    if (-not $blank -and -not $older) { continue }
    & net.exe user $u.Name /logonpasswordchg:yes | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "net user $($u.Name) /logonpasswordchg:yes failed ($LASTEXITCODE)" }
    Write-Output "$($u.Name) must choose a new password at next sign-in"
}
