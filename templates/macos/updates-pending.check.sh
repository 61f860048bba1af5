{{> macos/_lib.sh}}
# ITP07 7.1.3: no recommended update waiting. Read from Software Update's own cache of its last scan
# (softwareupdate --list needs the network and takes tens of seconds); a cache older than 30 days says
# nothing, which fails too (mSCP's freshness limit). A major OS upgrade the cache offers (macOS 26 on a 15 Mac)
# is no security update of this release: it is reported as available, never counted (os.supported says when
# this release's support ends).
p=/Library/Preferences/com.apple.SoftwareUpdate
items=$(recommended_updates)
names=$(printf '%s\n' "$items" | sed -n 's/^update	\(.*\)$/\1;/p' | oneline)
upgrades=$(printf '%s\n' "$items" | sed -n 's/^upgrade	\(.*\)$/\1;/p' | oneline)
n=$(printf '%s\n' "$items" | grep -c '^update	' || true)
obs waiting "$n"
obs updates "${names:-none}"
obs upgrade_available "${upgrades:-none}"
last=$(defaults read "$p" LastFullSuccessfulDate 2>/dev/null || defaults read "$p" LastSuccessfulDate 2>/dev/null || true)
obs last_scan "${last:-never}"
if [ -n "$last" ]; then
  t=$(date -j -f '%Y-%m-%d %H:%M:%S %z' "$last" +%s 2>/dev/null || echo 0)
  age=$(( (HANDOVER_NOW_EPOCH - t) / 86400 ))
  obs last_scan_days "$age"
  [ "$age" -le 30 ] || problem "Software Update last scanned $age days ago"
else
  problem "Software Update has never scanned for updates"
fi
[ "$n" = 0 ] || problem "$n recommended updates waiting: $names"
finish "no recommended update waiting (last scan $last)${upgrades:+; a major upgrade is available, not required: $upgrades}"
