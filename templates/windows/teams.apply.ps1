{{> windows/_lib.ps1}}
# teamsbootstrapper.exe -p provisions Teams for all users; -o installs the verified offline MSIX.
if (-not $env:HANDOVER_ARTIFACT_TEAMS_BOOTSTRAPPER -or -not $env:HANDOVER_ARTIFACT_TEAMS_MSIX) { throw 'the teams-bootstrapper and teams-msix artifacts were not staged' }
Invoke-Installer $env:HANDOVER_ARTIFACT_TEAMS_BOOTSTRAPPER @('-p', '-o', $env:HANDOVER_ARTIFACT_TEAMS_MSIX)
Complete-Apply
