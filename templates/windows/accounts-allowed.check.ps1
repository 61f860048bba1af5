{{> windows/_lib.ps1}}
# ITP07 7.1.2 "Do not provide access to non-QMUL users": enabled local accounts other than the user, its admin
# account and the site's allowlist. The disabled built-ins (500, 501, 503 DefaultAccount, 504 WDAGUtility) do
# not count. Check only: handover never deletes accounts.
$ok = @($env:HANDOVER_USER, $env:HANDOVER_ADMIN_USER) + @({{#each site.accounts.allowed}}{{this}}, {{/each}}$null) | Where-Object { $_ }
Obs 'allowed' $ok
$stray = @(Get-LocalUser | Where-Object { $_.Enabled -and $ok -notcontains $_.Name } |
    Where-Object { -not ($_.SID.Value -match '-(500|501|503|504)$') } | ForEach-Object { $_.Name })
Obs 'unexpected' $stray
if ($stray.Count -gt 0) { Problem ("enabled accounts not allowed by the site: " + ($stray -join ', ') + " (disable or remove them by hand)") }
if (-not $env:HANDOVER_USER) { Problem 'no user named: give --user NAME' }
Finish 'only the user, its admin account and the site''s allowed accounts are enabled'
