{{> windows/_lib.ps1}}
Assert-SessionKept @({{#each firewall.allow}}[int]{{port}}, {{/each}}0)
{{> windows/_firewall-want.ps1}}
# One store, as the check reads it: the local persistent rules (PersistentStore).
foreach ($w in $want) {
    $name = "handover $($w.Port)/$($w.Proto) from $($w.From)"
    if (Get-NetFirewallRule -Name $name -PolicyStore PersistentStore -ErrorAction SilentlyContinue) {
        Set-NetFirewallRule -Name $name -PolicyStore PersistentStore -Enabled True -Direction Inbound -Action Allow -RemoteAddress $w.From -LocalPort $w.Port -Protocol $w.Proto
    } else {
        New-NetFirewallRule -Name $name -DisplayName $name -PolicyStore PersistentStore -Direction Inbound -Action Allow -Protocol $w.Proto -LocalPort $w.Port -RemoteAddress $w.From | Out-Null
        Write-Output "added $name"
    }
}
# Other inbound allow rules are disabled, never deleted, and named here for the record. App-container rules are
# left alone (see _firewall-want.ps1: Windows re-creates them, so disabling them would repeat on every run).
$packaged = Get-AppContainerRuleIds 'PersistentStore'
foreach ($r in Get-NetFirewallRule -Direction Inbound -Action Allow -Enabled True -PolicyStore PersistentStore |
        Where-Object { $_.Group -ne $coreGroup -and $ours -notcontains $_.Name -and -not (Test-AppContainerRule $_ $packaged) }) {
    Disable-NetFirewallRule -Name $r.Name -PolicyStore PersistentStore
    Write-Output "disabled inbound rule $($r.Name) ($($r.DisplayName))"
}
