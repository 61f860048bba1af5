{{> windows/_lib.ps1}}
# The installer runs only when LsAgent is missing or sends elsewhere (LsAgent.ini's Server or Port is not the
# site's); a stopped agent is only started. The vendor's installer takes the key on its command line, so it
# shows in the process list while it runs.
$server = {{site.lansweeper.server}}
$port = [string]{{site.lansweeper.port}}
$svc = Get-Service -Name 'LansweeperAgentService' -ErrorAction SilentlyContinue
$ini = @((Join-Path ${env:ProgramFiles(x86)} 'LansweeperAgent\LsAgent.ini'), (Join-Path $env:ProgramFiles 'LansweeperAgent\LsAgent.ini')) |
    Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
$elsewhere = $false
if ($ini) {
    $cfg = Read-KeyValueFile $ini
    if ($cfg['server'] -and $cfg['server'] -ne $server) { $elsewhere = $true }
    if ($cfg['port'] -and $cfg['port'] -ne $port) { $elsewhere = $true }
}
if (-not $svc -or $elsewhere) {
    if (-not $env:HANDOVER_ARTIFACT_LSAGENT_WINDOWS) { throw 'the lsagent-windows artifact was not staged' }
    Invoke-Installer $env:HANDOVER_ARTIFACT_LSAGENT_WINDOWS (@('--server', $server, '--port', $port, '--agentkey', $env:HANDOVER_SECRET_LANSWEEPER_AGENT_KEY, '--mode', 'unattended') + (Get-ArtifactArguments 'LSAGENT_WINDOWS'))
}
Set-Service -Name 'LansweeperAgentService' -StartupType Automatic
if ((Get-Service -Name 'LansweeperAgentService').Status -ne 'Running') { Start-Service -Name 'LansweeperAgentService' }
Complete-Apply
