{{> windows/_lib.ps1}}
# The vendor's installer takes the key on its command line, so it shows in the process list while it runs.
if (-not $env:HANDOVER_ARTIFACT_LSAGENT_WINDOWS) { throw 'the lsagent-windows artifact was not staged' }
$server = {{site.lansweeper.server}}
$port = [string]{{site.lansweeper.port}}
Invoke-Installer $env:HANDOVER_ARTIFACT_LSAGENT_WINDOWS @('--server', $server, '--port', $port, '--agentkey', $env:HANDOVER_SECRET_LANSWEEPER_AGENT_KEY, '--mode', 'unattended')
Start-Service -Name 'LansweeperAgentService'
