{{> windows/_lib.ps1}}
# ITP07 7.1.5: Windows Defender Firewall on in the Domain, Private and Public profiles with inbound default
# Block, as the active store (policy included) has it.
foreach ($p in Get-NetFirewallProfile -PolicyStore ActiveStore) {
    Obs "$($p.Name)" ("enabled={0} inbound={1}" -f $p.Enabled, $p.DefaultInboundAction)
    if ([string]$p.Enabled -ne 'True') { Problem "the $($p.Name) firewall profile is off" }
    if ([string]$p.DefaultInboundAction -ne 'Block') { Problem "the $($p.Name) profile's inbound default is $($p.DefaultInboundAction), not Block" }
}
Finish 'firewall on in every profile, inbound default Block'
