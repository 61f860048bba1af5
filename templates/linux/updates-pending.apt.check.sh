{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting. Simulating an upgrade loads apt's whole cache (0.2-0.4 s with a
# full package index), so the answer is cached in handover's state directory, keyed on what it depends on:
# the dpkg status, apt's binary cache and the package lists. Any install or `apt update` changes the key.
key=$(stat -c '%n %Y %s' /var/lib/dpkg/status /var/cache/apt/pkgcache.bin /var/lib/apt/lists /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/* 2>/dev/null | oneline)
cache="${HANDOVER_STATE_DIR}/cache/updates-pending"
if [ -r "$cache" ] && [ "$(head -n 1 "$cache")" = "$key" ]; then
  pending=$(sed 1d "$cache")
  obs source cache
else
  if ! sim=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>&1); then
    result false "apt-get -s dist-upgrade failed: $(printf '%s' "$sim" | tail -n 3 | oneline)" error
  fi
  pending=$(printf '%s\n' "$sim" | awk '/^Inst / && /[-]security|Debian-Security/ { print $2 }' | oneline)
  obs source apt-get
  if mkdir -p "${HANDOVER_STATE_DIR}/cache" 2>/dev/null; then
    printf '%s\n%s\n' "$key" "$pending" >"$cache.$$" 2>/dev/null && mv -f "$cache.$$" "$cache" 2>/dev/null || rm -f "$cache.$$"
  fi
fi
obs pending "$pending"
lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -newermt "@$((HANDOVER_NOW_EPOCH - 7 * 86400))" 2>/dev/null | head -n 1)
[ -n "$lists" ] || obs package_lists "older than 7 days: run apt-get update (or let apt-daily.timer) for a current answer"
if [ -n "$pending" ]; then
  set -- $pending
  n=$#
  shift $(( n > 8 ? 8 : n ))
  problem "$n security updates waiting: $(printf '%s\n' "$pending" | cut -d' ' -f1-8)${1:+ …}"
fi
if [ -e /var/run/reboot-required ]; then problem "reboot required to finish installed updates"; fi
finish "no security updates waiting"
