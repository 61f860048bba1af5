{{> windows/_lib.ps1}}
$want = [int]{{site.accounts.password_min_length}}
& net.exe accounts "/minpwlen:$want" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "net accounts /minpwlen failed ($LASTEXITCODE)" }
# Complexity has no `net accounts` switch: a security template through secedit /configure.
$dir = Join-Path $env:TEMP ("handover-{0}" -f [guid]::NewGuid())
New-Item -ItemType Directory -Path $dir | Out-Null
try {
    $inf = Join-Path $dir 'complexity.inf'
    Set-Content -LiteralPath $inf -Encoding Unicode -Value @('[Unicode]', 'Unicode=yes', '[System Access]', 'PasswordComplexity = 1', '[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    & secedit.exe /configure /db (Join-Path $dir 'p.sdb') /cfg $inf /areas SECURITYPOLICY /quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "secedit /configure failed ($LASTEXITCODE)" }
} finally {
    Remove-Item -LiteralPath $dir -Recurse -ErrorAction SilentlyContinue
}
# Every enabled account needs a password, and passwords set before the policy change at next logon.
foreach ($u in Get-LocalUser | Where-Object { $_.Enabled }) {
    if (-not $u.PasswordRequired) {
        & net.exe user $u.Name /passwordreq:yes | Out-Null
        Write-Output "$($u.Name) now needs a password"
    }
    & net.exe user $u.Name /logonpasswordchg:yes | Out-Null
    Write-Output "$($u.Name) must change its password at next logon"
}
