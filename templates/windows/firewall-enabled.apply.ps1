{{> windows/_lib.ps1}}
Assert-SessionKept @({{#each firewall.allow}}[int]{{port}}, {{/each}}0)
Set-NetFirewallProfile -Profile Domain, Private, Public -Enabled True -DefaultInboundAction Block -DefaultOutboundAction Allow
