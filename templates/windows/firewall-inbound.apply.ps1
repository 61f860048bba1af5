{{> windows/_lib.ps1}}
Assert-SessionKept @({{#each firewall.allow}}[int]{{port}}, {{/each}}0)
{{> windows/_firewall-want.ps1}}
foreach ($w in $want) {
    $name = "handover $($w.Port)/$($w.Proto) from $($w.From)"
    if (Get-NetFirewallRule -Name $name -ErrorAction SilentlyContinue) {
        Set-NetFirewallRule -Name $name -Enabled True -Action Allow -RemoteAddress $w.From -LocalPort $w.Port -Protocol $w.Proto
    } else {
        New-NetFirewallRule -Name $name -DisplayName $name -Direction Inbound -Action Allow -Protocol $w.Proto -LocalPort $w.Port -RemoteAddress $w.From | Out-Null
        Write-Output "added $name"
    }
}
# Other inbound allow rules are disabled, never deleted, and named here for the record.
foreach ($r in Get-NetFirewallRule -Direction Inbound -Action Allow -Enabled True -PolicyStore PersistentStore |
        Where-Object { $_.Group -ne '@FirewallAPI.dll,-25000' -and $ours -notcontains $_.Name }) {
    Disable-NetFirewallRule -Name $r.Name
    Write-Output "disabled inbound rule $($r.Name) ($($r.DisplayName))"
}
