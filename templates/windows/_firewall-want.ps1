# The site's firewall entries that may be opened, as handover names its rules: "handover <port>/<proto> from <source>".
# Net is the source as network/prefix length (ConvertTo-Network in _lib.ps1), the form both sides are compared in.
$want = @(
{{#each firewall.allow}}
    [pscustomobject]@{ Port = [string]{{port}}; Proto = ([string]{{proto}}).ToUpper(); From = [string]{{from}}; Net = ConvertTo-Network ([string]{{from}}) }
{{/each}}
)
$ours = @($want | ForEach-Object { "handover $($_.Port)/$($_.Proto) from $($_.From)" })
# Core networking (DHCP, ICMPv6, IPv6 neighbour discovery...) stays open: its group by resource id, not by its
# localised display name.
$coreGroup = '@FirewallAPI.dll,-25000'
# Packaged (app-container) apps' rules: an Owner (the user SID a per-user package rule belongs to) or a Package
# (the app container SID) in their application filter. Windows keeps them: it stores them apart from the
# ordinary rules (...\FirewallPolicy\RestrictedServices\AppIso\FirewallRules, MicrosoftDocs/windows-powershell-docs#414
# and PR #1012), re-creates them enabled when a Store app updates (openai/codex#38727) and reverts them when
# they are blocked (deminimis/minimalfirewall#139). Disabling them would be undone, so apply would disable them
# on every run and the check would fail forever. Decision: they do not count in firewall.inbound's verdict and
# apply leaves them alone; the check lists every one in observed (app_container_allow_rules) for the record.
# They admit traffic only to that packaged app, only while it runs and holds a network capability.
function Get-AppContainerRuleIds([string]$Store) {
    $ids = @{}
    foreach ($f in Get-NetFirewallApplicationFilter -PolicyStore $Store) {
        if ($f.PSObject.Properties['Package'] -and $f.Package) { $ids[[string]$f.InstanceID] = $true }
    }
    return $ids
}
function Test-AppContainerRule($Rule, $PackagedIds) {
    return [bool](($Rule.PSObject.Properties['Owner'] -and $Rule.Owner) -or $PackagedIds.ContainsKey([string]$Rule.Name))
}
