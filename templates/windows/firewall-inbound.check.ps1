{{> windows/_lib.ps1}}
# ITP07 7.1.5: inbound allowed only through the site's entries (rules handover names "handover <port>/<proto>
# from <source>", each scoped to its source, port and protocol) and the core networking group.
# Stores: handover writes and reads its own rules in PersistentStore (the local, persistent rules that apply
# changes); the rest is read from ActiveStore (what is in force, policy included), split by where each rule
# comes from (PolicyStoreSourceType): local rules count and apply disables them; Group Policy and MDM rules
# make the control an error "managed by policy" (apply cannot change them and would only fight the policy);
# rules Windows makes at run time (Dynamic, Generated, Hardcoded: e.g. Hyper-V or WSL) and app-container rules
# are listed in observed and do not count, since no apply can change them for good.
foreach ($r in @({{#each firewall.refused}}{{this}}, {{/each}}$null) | Where-Object { $_ }) { Problem $r }
{{> windows/_firewall-want.ps1}}
$rules = @()
foreach ($w in $want) {
    $name = "handover $($w.Port)/$($w.Proto) from $($w.From)"
    $rule = Get-NetFirewallRule -Name $name -PolicyStore PersistentStore -ErrorAction SilentlyContinue
    if (-not $rule) { Problem "missing rule: $name"; continue }
    $addr = @(($rule | Get-NetFirewallAddressFilter).RemoteAddress | ForEach-Object { ConvertTo-Network ([string]$_) })
    $pf = $rule | Get-NetFirewallPortFilter
    $ports = @($pf.LocalPort) -join ','
    $rules += "$name = $([string]$rule.Enabled) $([string]$rule.Direction) $([string]$rule.Action) $([string]$pf.Protocol) $ports from $($addr -join ',')"
    $wrong = @()
    if ([string]$rule.Enabled -ne 'True') { $wrong += 'disabled' }
    if ([string]$rule.Action -ne 'Allow' -or [string]$rule.Direction -ne 'Inbound') { $wrong += "$($rule.Direction) $($rule.Action)" }
    if ([string]$pf.Protocol -ne $w.Proto) { $wrong += "protocol $($pf.Protocol)" }
    if ($ports -ne $w.Port) { $wrong += "port $ports" }
    if ($addr.Count -ne 1 -or $addr[0] -ne $w.Net) { $wrong += "source $($addr -join ',') (want $($w.Net))" }
    if ($wrong.Count -gt 0) { Problem ("rule $name is not as the site says: " + ($wrong -join ', ')) }
}
Obs 'handover_rules' $rules
$packaged = Get-AppContainerRuleIds 'ActiveStore'
$local = @(); $policy = @(); $system = @(); $appContainer = @()
foreach ($r in Get-NetFirewallRule -Direction Inbound -Action Allow -Enabled True -PolicyStore ActiveStore) {
    if ($r.Group -eq $coreGroup -or $ours -contains $r.Name) { continue }
    $label = "$($r.DisplayName) [$($r.Name)]"
    $source = [string]$r.PolicyStoreSourceType
    if (Test-AppContainerRule $r $packaged) { $appContainer += $label }
    elseif ($source -eq 'Local' -or $source -eq '') { $local += $label }
    elseif ($source -match 'GroupPolicy|MDM') { $policy += "$label from $source $($r.PolicyStoreSource)" }
    else { $system += "$label ($source)" }
}
Obs 'other_inbound_allow_rules' $local
Obs 'policy_inbound_allow_rules' $policy
Obs 'system_inbound_allow_rules' $system
Obs 'app_container_allow_rules' $appContainer
if ($local.Count -gt 0) { Problem ("{0} inbound allow rules the site does not list, e.g. {1}" -f $local.Count, (($local | Select-Object -First 5) -join '; ')) }
if ($script:Problems.Count -eq 0 -and $policy.Count -gt 0) {
    Result $false ("managed by Group Policy/MDM: {0} inbound allow rules set by policy, e.g. {1}; change them in the policy (apply cannot)" -f $policy.Count, (($policy | Select-Object -First 3) -join '; ')) 'error'
}
Finish "inbound allowed only for the site's scoped entries and core networking (app-container and run-time rules listed in observed)"
