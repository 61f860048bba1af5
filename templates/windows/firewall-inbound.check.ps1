{{> windows/_lib.ps1}}
# ITP07 7.1.5: inbound allowed only through the site's entries (rules handover names "handover <port>/<proto>
# from <source>", each scoped to its source) and the core networking group, matched by its resource id
# (@FirewallAPI.dll,-25000) rather than its localised display name.
foreach ($r in @({{#each firewall.refused}}{{this}}, {{/each}}$null) | Where-Object { $_ }) { Problem $r }
{{> windows/_firewall-want.ps1}}
foreach ($w in $want) {
    $name = "handover $($w.Port)/$($w.Proto) from $($w.From)"
    $rule = Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue
    if (-not $rule) { Problem "missing rule: $name"; continue }
    $addr = ($rule | Get-NetFirewallAddressFilter).RemoteAddress
    if ([string]$rule.Enabled -ne 'True' -or [string]$rule.Action -ne 'Allow' -or @($addr) -notcontains $w.From) { Problem "rule $name is not as the site says" }
}
$other = @(Get-NetFirewallRule -Direction Inbound -Action Allow -Enabled True -PolicyStore ActiveStore |
    Where-Object { $_.Group -ne '@FirewallAPI.dll,-25000' -and $ours -notcontains $_.Name } | ForEach-Object { $_.DisplayName })
Obs 'other_inbound_allow_rules' $other
if ($other.Count -gt 0) { Problem ("{0} inbound allow rules the site does not list, e.g. {1}" -f $other.Count, (($other | Select-Object -First 5) -join '; ')) }
Finish "inbound allowed only for the site's scoped entries and core networking"
