{{> macos/_lib.sh}}
set -e
# Microsoft's MicrosoftTeams.pkg (package id com.microsoft.teams2), the site's verified copy.
install_pkg "${HANDOVER_ARTIFACT_TEAMS_PKG:?the teams-pkg artifact was not staged}"
