{{> windows/_lib.ps1}}
# ITP07 7.1.6(4): FortiClient VPN installed with the site's SSL-VPN tunnel
# (HKLM\SOFTWARE\Fortinet\FortiClient\Sslvpn\Tunnels\<name>: Server "host:port").
$name = {{site.vpn.name}}
$server = {{site.vpn.gateway}} + ':' + [string]{{site.vpn.port}}
$app = @(Get-Installed 'FortiClient*')
Obs 'installed' @($app | ForEach-Object { "$($_.DisplayName) $($_.DisplayVersion)" })
if ($app.Count -eq 0) { Problem 'FortiClient VPN is not installed' }
if (-not $name.Trim() -or $name -match '[\\/]' -or $name.Contains('..')) { throw "vpn.name '$name' must be one tunnel name, without \, / or .." }
$t = Get-ItemProperty -LiteralPath "HKLM:\SOFTWARE\Fortinet\FortiClient\Sslvpn\Tunnels\$name" -ErrorAction SilentlyContinue
if (-not $t) { Problem "no FortiClient tunnel named $name" }
elseif ($t.Server -ne $server) { Problem "tunnel $name points at $($t.Server), not $server" }
Finish "FortiClient VPN with the tunnel $name to $server"
