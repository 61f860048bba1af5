{{> macos/_lib.sh}}
set -e
# The LsAgent .dmg (handover's private, verified copy) holds LsAgent-osx.app, whose installbuilder.sh takes
# the same flags as on Windows and Linux. The key arrives in an environment variable; the vendor's installer
# takes it on its command line, so it shows in the process list while it runs. The image is always detached.
dmg=${HANDOVER_ARTIFACT_LSAGENT_MACOS:?the lsagent-macos artifact was not staged}
mnt=''
trap '[ -z "$mnt" ] || detach_image "$mnt"' EXIT
trap 'exit 1' HUP INT TERM
mnt=$(attach_image "$dmg" lsagent)
sh_=$(find "$mnt" -maxdepth 4 -path '*LsAgent-osx.app/Contents/MacOS/installbuilder.sh' | head -n 1)
[ -n "$sh_" ] || { echo "no LsAgent-osx.app/Contents/MacOS/installbuilder.sh in $dmg" >&2; exit 1; }
# Under umask 022, not the scripts' 077: the vendor's installer creates the agent's files and expects the
# usual modes.
(
  umask 022
  "$sh_" --server {{site.lansweeper.server}} --port {{site.lansweeper.port}} \
    --agentkey "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:?no lansweeper.agent_key}" --mode unattended </dev/null
)
