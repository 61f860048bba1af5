{{> macos/_lib.sh}}
set -e
# FortiClient VPN from the site's verified package (a .pkg, or the .dmg whose Install.mpkg installs it).
if [ -z "$(app_version /Applications/FortiClient.app)" ]; then
  install_pkg "${HANDOVER_ARTIFACT_FORTICLIENT_PKG:?the forticlient-pkg artifact was not staged}"
fi
