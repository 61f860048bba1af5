{{> linux/_lib.sh}}
# ITP07 7.1.6(2): LsAgent installed, pointed at the site's server, running. The install directory and its
# LsAgent.ini follow Lansweeper's "Silently installing LsAgent" guide; the unit name has varied between
# agent versions, so any loaded unit whose name starts with ltsagent, lsagent or LansweeperAgent counts.
dir=/opt/LansweeperAgent
ini="$dir/LsAgent.ini"
[ -d "$dir" ] || result false "LsAgent is not installed ($dir is missing)"
server=$(sed -n 's/^Server=//p' "$ini" 2>/dev/null | tr -d '\r')
port=$(sed -n 's/^Port=//p' "$ini" 2>/dev/null | tr -d '\r')
obs server "${server:-unset}"
obs port "${port:-unset}"
[ "$server" = {{site.lansweeper.server}} ] || problem "LsAgent reports to ${server:-nothing}, not "{{site.lansweeper.server}}
[ "$port" = {{site.lansweeper.port}} ] || problem "LsAgent uses port ${port:-unset}, not "{{site.lansweeper.port}}
if [ -n "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:-}" ]; then
  key=$(sed -n 's/^AgentKey=//p' "$ini" 2>/dev/null | tr -d '\r')
  if [ "$key" = "$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY" ]; then obs agent_key matches; else obs agent_key differs; problem "LsAgent's cloud relay key is not the site's"; fi
fi
units=$(systemctl list-units --type=service --state=active --no-legend --plain 'ltsagent*' 'lsagent*' 'LansweeperAgent*' 2>/dev/null | awk '{ print $1 }' | oneline)
obs active_units "${units:-none}"
[ -n "$units" ] || problem "no LsAgent service is running"
# Where the agent records its last upload, it must be within 7 days.
last=$(find "$dir" -maxdepth 2 -name 'LastScan*' -printf '%T@\n' 2>/dev/null | sort -n | tail -n 1)
if [ -n "$last" ]; then
  age_d=$(( (HANDOVER_NOW_EPOCH - ${last%.*}) / 86400 ))
  obs last_upload_days "$age_d"
  [ "$age_d" -le 7 ] || problem "LsAgent's last upload was $age_d days ago"
fi
finish "LsAgent reports to "{{site.lansweeper.server}}
