{{> windows/_lib.ps1}}
# ITP07 7.1.6(2): LsAgent installed, running (service LansweeperAgentService), pointed at the site's server and
# port, and its last upload within 7 days. The agent keeps its state in LsAgent.ini in its install folder,
# C:\Program Files (x86)\LansweeperAgent by default (Lansweeper's migration guide: "the Server value listed in
# the LsAgent.ini file ... found at Program Files (x86)\LansweeperAgent\LsAgent.ini"; the chocolatey lsagent
# package's default prefix), with keys Server, Port, AgentKey, LastScan and LastSent (admins' scripts read them:
# pio-007/macOS LsAgent_10.2.0.0.sh checks Server=, AgentKey=, LastScan= and LastSent=). The format of the dates
# and whether AgentKey is stored as given are not documented: what cannot be read is said in observed and does
# not fail the check, so apply does not reinstall the agent for it.
$server = {{site.lansweeper.server}}
$port = [string]{{site.lansweeper.port}}
$svc = Get-Service -Name 'LansweeperAgentService' -ErrorAction SilentlyContinue
if (-not $svc) { Result $false 'LsAgent is not installed (no LansweeperAgentService)' }
Obs 'status' ([string]$svc.Status)
if ($svc.Status -ne 'Running') { Problem 'LansweeperAgentService is not running' }
$ini = @((Join-Path ${env:ProgramFiles(x86)} 'LansweeperAgent\LsAgent.ini'), (Join-Path $env:ProgramFiles 'LansweeperAgent\LsAgent.ini')) |
    Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
if (-not $ini) {
    Obs 'ini' 'LsAgent.ini not found: server and last upload unread'
    Finish 'LsAgent is running (its LsAgent.ini was not found, so its server and last upload are unread)'
}
Obs 'ini' $ini
$cfg = Read-KeyValueFile $ini
function Test-IniValue([string]$Key) { return [bool]($cfg.ContainsKey($Key) -and $cfg[$Key]) }
if (Test-IniValue 'server') {
    Obs 'server' $cfg['server']
    if ($cfg['server'] -ne $server) { Problem "LsAgent sends to $($cfg['server']), not $server" }
} else { Obs 'server' 'not recorded in LsAgent.ini' }
if (Test-IniValue 'port') {
    Obs 'port' $cfg['port']
    if ($cfg['port'] -ne $port) { Problem "LsAgent uses port $($cfg['port']), not $port" }
}
# The cloud relay key, compared and never printed.
$key = $env:HANDOVER_SECRET_LANSWEEPER_AGENT_KEY
if (-not (Test-IniValue 'agentkey')) { Obs 'agent_key' 'not recorded in LsAgent.ini' }
elseif (-not $key) { Obs 'agent_key' 'recorded; the site''s key was not given to this check' }
elseif ($cfg['agentkey'] -eq $key) { Obs 'agent_key' 'matches the site' }
else { Obs 'agent_key' 'differs from the site''s, or is stored encoded: not judged' }
$lastText = if (Test-IniValue 'lastsent') { $cfg['lastsent'] } elseif (Test-IniValue 'lastscan') { $cfg['lastscan'] } else { $null }
if (-not $lastText) { Obs 'last_upload' 'not recorded in LsAgent.ini' }
else {
    $last = $null
    if ($lastText -match '^\d{9,10}$') { $last = [DateTimeOffset]::FromUnixTimeSeconds([long]$lastText).UtcDateTime }
    else {
        $parsed = [DateTime]::MinValue
        if ([DateTime]::TryParse($lastText, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::AssumeLocal, [ref]$parsed) -or
            [DateTime]::TryParse($lastText, [ref]$parsed)) { $last = $parsed.ToUniversalTime() }
    }
    if (-not $last) { Obs 'last_upload' "unreadable: $lastText" }
    else {
        $now = [DateTimeOffset]::FromUnixTimeSeconds([long]$env:HANDOVER_NOW_EPOCH).UtcDateTime
        $days = ($now - $last).TotalDays
        Obs 'last_upload' $last.ToString('o')
        Obs 'last_upload_days' ([math]::Round($days, 1))
        if ($days -gt 7) { Problem ("LsAgent's last upload was {0:N0} days ago (more than 7)" -f $days) }
    }
}
Finish "LsAgent is running and sends to $server"
