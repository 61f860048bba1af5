{{> macos/_lib.sh}}
# ITP07 7.1.6(2): LsAgent installed, pointed at the site's server, running. Lansweeper's "Silently installing
# LsAgent" guide puts it in /Applications/LansweeperAgent with its LsAgent.ini (Server=, AgentKey=, LastSent=).
dir=/Applications/LansweeperAgent
ini="$dir/LsAgent.ini"
[ -d "$dir" ] || result false "LsAgent is not installed ($dir is missing)"
ini_get() { sed -n "s/^$1=//p" "$ini" 2>/dev/null | tr -d '\r' | tail -n 1; }
server=$(ini_get Server)
port=$(ini_get Port)
obs server "${server:-unset}"
obs port "${port:-unset}"
[ "$server" = {{site.lansweeper.server}} ] || problem "LsAgent reports to ${server:-nothing}, not "{{site.lansweeper.server}}
[ -z "$port" ] || [ "$port" = {{site.lansweeper.port}} ] || problem "LsAgent uses port $port, not "{{site.lansweeper.port}}
if [ -n "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:-}" ]; then
  if [ "$(ini_get AgentKey)" = "$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY" ]; then obs agent_key matches; else obs agent_key differs; problem "LsAgent's cloud relay key is not the site's"; fi
fi
procs=$(pgrep -f "$dir/" | oneline)
obs processes "${procs:-none}"
[ -n "$procs" ] || problem "LsAgent is not running"
# Where the agent records its last upload (LastSent, as "YYYY-MM-DD HH:MM:SS"), it must be within 7 days.
last=$(ini_get LastSent)
if [ -n "$last" ]; then
  obs last_sent "$last"
  t=$(date -j -f '%Y-%m-%d %H:%M:%S' "$last" +%s 2>/dev/null || true)
  if [ -n "$t" ]; then
    age_d=$(( (HANDOVER_NOW_EPOCH - t) / 86400 ))
    obs last_upload_days "$age_d"
    [ "$age_d" -le 7 ] || problem "LsAgent's last upload was $age_d days ago"
  fi
fi
finish "LsAgent reports to "{{site.lansweeper.server}}
