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
# Patch age (Cyber Essentials: high and critical fixes within 14 days, the site's [updates] max_age_days): not
# known offline. Software Update's cache of its last scan (RecommendedUpdates) holds each update's name, version
# and product key, no post date; the catalogue's PostDate is only on Apple's server (and macOS 11 and later
# update the OS through MobileSoftwareUpdate, outside that catalogue); mSCP's own check
# (system_settings_softwareupdate_current) reads only LastFullSuccessfulDate. The scan date would be a number
# that looks like an age and is not one, so the age is reported unknown, with this reason.
max_age={{site.updates.max_age_days}}
obsn max_age_days "$max_age"
if [ "$n" = 0 ]; then
  obs oldest_pending_source "nothing pending"
else
  obsn oldest_pending_days ''
  obs oldest_pending_source "unknown: Software Update records no post date for waiting updates offline (RecommendedUpdates holds name, version and product key only)"
  problem "$n recommended updates waiting (age unknown): $names"
fi
finish "no recommended update waiting (last scan $last)${upgrades:+; a major upgrade is available, not required: $upgrades}"
