{{> linux/_lib.sh}}
# ITP07 7.1.6(2): LsAgent installed, pointed at the site's server, running. The install directory and its
# LsAgent.ini follow Lansweeper's "Silently installing LsAgent" guide; the unit name has varied between
# agent versions, so any loaded unit whose name starts with ltsagent, lsagent or LansweeperAgent counts.
dir=/opt/LansweeperAgent
ini="$dir/LsAgent.ini"
[ -d "$dir" ] || result false "LsAgent is not installed ($dir is missing)"
conf_value "$ini" Server; server=$_cv
conf_value "$ini" Port; port=$_cv
obs server "${server:-unset}"
obs port "${port:-unset}"
[ "$server" = {{site.lansweeper.server}} ] || problem "LsAgent reports to ${server:-nothing}, not "{{site.lansweeper.server}}
[ "$port" = {{site.lansweeper.port}} ] || problem "LsAgent uses port ${port:-unset}, not "{{site.lansweeper.port}}
# The key is compared where the agent keeps it; an LsAgent.ini without one (a version that keeps it
# elsewhere) is said in observed, not failed: the apply would reinstall LsAgent on every run for nothing.
if [ -n "${HANDOVER_SECRET_LANSWEEPER_AGENT_KEY:-}" ]; then
  conf_value "$ini" AgentKey; key=$_cv
  if [ -z "$key" ]; then obs agent_key "not readable: LsAgent.ini holds no AgentKey"
  elif [ "$key" = "$HANDOVER_SECRET_LANSWEEPER_AGENT_KEY" ]; then obs agent_key matches
  else obs agent_key differs; problem "LsAgent's cloud relay key is not the site's"; fi
fi
units=''
if [ -n "${_fact_units-}" ]; then
  # The batch's one `systemctl show` asked about these names too (_facts.sh).
  for u in $_fact_units; do
    case "$u" in ltsagent*.service:active:* | lsagent*.service:active:* | LansweeperAgent*.service:active:*) units="$units ${u%%:*}" ;; esac
  done
  units=${units# }
else
  units=$(systemctl list-units --type=service --state=active --no-legend --plain 'ltsagent*' 'lsagent*' 'LansweeperAgent*' 2>/dev/null | awk '{ print $1 }' | oneline)
fi
obs active_units "${units:-none}"
[ -n "$units" ] || problem "no LsAgent service is running"
# The last upload must be within 7 days (SPEC 2). LsAgent.ini records it as LastSent (older agents:
# LastScan); a date that is missing or that date(1) cannot read is said in observed, not failed.
last=''
if [ -r "$ini" ]; then
  while IFS= read -r l || [ -n "$l" ]; do
    case "$l" in LastSent=* | LastScan=*) last=${l#*=} && last=${last%[[:cntrl:]]} ;; esac
  done <"$ini"
fi
if [ -z "$last" ]; then
  obs last_sent "not recorded in LsAgent.ini"
elif t=$(date -u -d "$last" +%s 2>/dev/null); then
  age_d=$(( (HANDOVER_NOW_EPOCH - t) / 86400 ))
  obs last_sent "$last"
  obs last_upload_days "$age_d"
  [ "$age_d" -le 7 ] || problem "LsAgent's last upload was $age_d days ago ($last), more than 7"
else
  obs last_sent "not readable: $last"
fi
finish "LsAgent reports to "{{site.lansweeper.server}}
