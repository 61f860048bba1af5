{{> macos/_lib.sh}}
{{> macos/_pf.sh}}
need_root 'the packet filter'
# ITP07 7.1.5 "only open the appropriate ports and scope access to the smallest possible range of clients".
{{#each firewall.refused}}
problem {{this}}
{{/each}}
if [ "$(want_rules)" = "$(cat "$anchor_file" 2>/dev/null)" ]; then obs anchor current; else
  obs anchor "$([ -f "$anchor_file" ] && echo differs || echo missing)"
  problem "$anchor_file does not hold the site's [firewall] allow rules"
fi
grep -qx 'anchor "handover"' /etc/pf.conf 2>/dev/null && grep -qx 'load anchor "handover" from "/etc/pf.anchors/handover"' /etc/pf.conf 2>/dev/null ||
  problem "/etc/pf.conf does not load handover's anchor (a macOS update may have replaced it)"
if [ ! -f "$job_plist" ]; then problem "the launchd job $job_plist that enables pf at boot is missing"; elif ! launchctl print "system/$job" >/dev/null 2>&1; then problem "the launchd job $job is not loaded"; fi
st=$(pfctl -s info 2>/dev/null | awk '/^Status:/ { print $2 }')
obs pf "${st:-unknown}"
[ "$st" = Enabled ] || problem "pf is not enabled"
loaded=$(pfctl -a handover -s rules 2>/dev/null | grep -c .)
obs anchor_rules_loaded "$loaded"
[ "$loaded" -ge "$(want_rules | grep -vc '^#')" ] || problem "pf has not loaded handover's rules ($loaded loaded)"
# Remote access services open ports of their own: on, they need a scoped site entry (22/tcp for Remote Login,
# 5900/tcp for Screen Sharing, a cleartext protocol that needs cleartext_ok). launchctl prints
# "com.openssh.sshd" => enabled|disabled (older releases: false|true).
disabled=$(launchctl print-disabled system 2>/dev/null)
svc_on() {
  printf '%s\n' "$disabled" | grep -Eq "\"$1\" => (enabled|false)" || launchctl print "system/$1" >/dev/null 2>&1
}
allowed_port() { want_rules | grep -q "^pass in quick proto tcp from .* to any port $1\$"; }
if svc_on com.openssh.sshd; then
  obs remote_login on
  allowed_port 22 || problem "Remote Login is on, but the site allows no scoped 22/tcp: turn it off (System Settings > General > Sharing) or add an entry"
else
  obs remote_login off
fi
if svc_on com.apple.screensharing; then
  obs screen_sharing on
  allowed_port 5900 || problem "Screen Sharing is on, but the site allows no scoped 5900/tcp: turn it off (System Settings > General > Sharing) or add an entry"
else
  obs screen_sharing off
fi
finish "inbound allowed only for the site's scoped entries"
