{{> windows/_lib.ps1}}
# ITP07 7.1.6(2): LsAgent installed and running (service LansweeperAgentService).
$svc = Get-Service -Name 'LansweeperAgentService' -ErrorAction SilentlyContinue
if (-not $svc) { Result $false 'LsAgent is not installed (no LansweeperAgentService)' }
Obs 'status' ([string]$svc.Status)
if ($svc.Status -ne 'Running') { Problem 'LansweeperAgentService is not running' }
Finish 'LsAgent is running'
