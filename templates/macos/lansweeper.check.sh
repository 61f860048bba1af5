{{> macos/_lib.sh}}
# ITP07 7.1.6(2): LsAgent installed, pointed at the site's server, running, its last upload within 7 days.
# Lansweeper's "Silently installing LsAgent" guide puts it in /Applications/LansweeperAgent; its LsAgent.ini
# holds Server=, Port=, AgentKey=, Version=, Status=, Enabled=, LastScan= and LastSent= (the keys admins' own
# scripts read on real agents, e.g. pio-007/macOS LsAgent_10.2.0.0.sh). The date format of LastSent/LastScan is
# documented nowhere we found: ISO "YYYY-MM-DD HH:MM:SS" (or with a T) and Unix seconds are read; anything else
# is reported as not readable, and does not fail by itself (so apply does not reinstall LsAgent every run).
dir=/Applications/LansweeperAgent
ini="$dir/LsAgent.ini"
[ -d "$dir" ] || result false "LsAgent is not installed ($dir is missing)"
ini_get() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ini" 2>/dev/null | tr -d '\r' | tail -n 1; }
server=$(ini_get Server)
port=$(ini_get Port)
obs server "${server:-unset}"
obs port "${port:-unset}"
[ "$server" = {{site.lansweeper.server}} ] || problem "LsAgent reports to ${server:-nothing}, not "{{site.lansweeper.server}}
[ -z "$port" ] || [ "$port" = {{site.lansweeper.port}} ] || problem "LsAgent uses port $port, not "{{site.lansweeper.port}}
if [ -n "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:-}" ]; then
  key=$(ini_get AgentKey)
  if [ -z "$key" ]; then obs agent_key "not readable: no AgentKey= in $ini"
  elif [ "$key" = "$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY" ]; then obs agent_key matches
  else
    obs agent_key differs
    problem "LsAgent's cloud relay key is not the site's"
  fi
fi
procs=$(pgrep -f "$dir/" | oneline)
obs processes "${procs:-none}"
[ -n "$procs" ] || problem "LsAgent is not running"
# The last upload: LastSent, else LastScan.
which=LastSent
last=$(ini_get LastSent)
[ -n "$last" ] || { which=LastScan; last=$(ini_get LastScan); }
t=''
case "$last" in
  '') obs last_sent "not readable: no LastSent= or LastScan= in $ini" ;;
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*) t=$(date -j -f '%Y-%m-%dT%H:%M:%S' "${last%%[.Z+]*}" +%s 2>/dev/null || true) ;;
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\ *) t=$(date -j -f '%Y-%m-%d %H:%M:%S' "${last%%.*}" +%s 2>/dev/null || true) ;;
  *[!0-9]*) ;;
  *) t=$last ;;
esac
if [ -n "$last" ]; then
  if [ -n "$t" ]; then
    obs last_sent "$last ($which)"
    age_d=$(( (HANDOVER_NOW_EPOCH - t) / 86400 ))
    obs last_upload_days "$age_d"
    [ "$age_d" -le 7 ] || problem "LsAgent's last upload ($which) was $age_d days ago"
  else
    obs last_sent "not readable: $which=$last is in no date format handover knows"
  fi
fi
finish "LsAgent reports to "{{site.lansweeper.server}}
