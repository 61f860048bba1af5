{{> macos/_lib.sh}}
set -e
# The LsAgent .dmg (handover's private, verified copy) holds LsAgent-osx.app, whose installbuilder.sh takes
# the same flags as on Windows and Linux. The key arrives in an environment variable; the vendor's installer
# takes it on its command line, so it shows in the process list while it runs. The image is always detached.
dmg=${HANDOVER_ARTIFACT_LSAGENT_MACOS:?the lsagent-macos artifact was not staged}
detach_stale
mnt=$(mktemp -d /tmp/handover-lsagent.XXXXXX)
detach() {
  hdiutil detach "$mnt" -force >/dev/null 2>&1 || true
  rmdir "$mnt" 2>/dev/null || true
}
trap detach EXIT
trap 'exit 1' HUP INT TERM
hdiutil attach -nobrowse -readonly -noautoopen -mountpoint "$mnt" "$dmg" >/dev/null
sh_=$(find "$mnt" -maxdepth 4 -path '*LsAgent-osx.app/Contents/MacOS/installbuilder.sh' | head -n 1)
[ -n "$sh_" ] || { echo "no LsAgent-osx.app/Contents/MacOS/installbuilder.sh in $dmg" >&2; exit 1; }
"$sh_" --server {{site.lansweeper.server}} --port {{site.lansweeper.port}} \
  --agentkey "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:?no lansweeper.agent_key}" --mode unattended </dev/null
