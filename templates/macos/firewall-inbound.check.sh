{{> macos/_lib.sh}}
{{> macos/_pf.sh}}
need_root 'the packet filter'
# ITP07 7.1.5 "only open the appropriate ports and scope access to the smallest possible range of clients":
# handover's rules loaded under Apple's anchor and enabled, and nothing else listening for other machines
# unless the site allows its port (Sharing services) or the app (application firewall exceptions).
{{#each firewall.refused}}
problem {{this}}
{{/each}}
if [ "$(want_rules)" = "$(cat "$anchor_file" 2>/dev/null)" ]; then obs anchor current; else
  obs anchor "$([ -f "$anchor_file" ] && echo differs || echo missing)"
  problem "$anchor_file does not hold the site's [firewall] allow rules"
fi
# Apple's anchor point must be in the ruleset pf loads at boot (pfctl -nv prints it as parsed).
pfctl -n -v -f /etc/pf.conf 2>/dev/null | grep -q '^anchor "com.apple/\*"' ||
  problem "/etc/pf.conf has no anchor \"com.apple/*\" (Apple's stock file has it): restore Apple's /etc/pf.conf"
# An earlier handover appended its own anchor to /etc/pf.conf; apply removes those lines.
if grep -qx 'load anchor "handover" from "/etc/pf.anchors/handover"' /etc/pf.conf 2>/dev/null; then
  problem "/etc/pf.conf still holds the lines an earlier handover appended (apply removes them)"
fi
if [ ! -f "$job_plist" ]; then problem "the launchd job $job_plist that loads the rules and enables pf at boot is missing"; elif ! launchctl print "system/$job" >/dev/null 2>&1; then problem "the launchd job $job is not loaded"; fi
st=$(pfctl -s info 2>/dev/null | awk '/^Status:/ { print $2 }')
obs pf "${st:-unknown}"
[ "$st" = Enabled ] || problem "pf is not enabled"
loaded=$(pfctl -a "$pf_anchor" -s rules 2>/dev/null | grep -c .)
obs anchor_rules_loaded "$loaded"
[ "$loaded" -ge "$(want_rules | grep -vc '^#')" ] || problem "pf has not loaded handover's rules into $pf_anchor ($loaded loaded)"
apps=''
found=$(exposure)
while IFS='	' read -r kind name ports how; do
  case "$kind" in
    off) obs "$name" off ;;
    on)
      obs "$name" on
      # shellcheck disable=SC2086 # the ports are words
      allowed $ports || problem "$name is on, but the site allows no scoped $ports: turn it off ($how) or add an entry"
      ;;
    app)
      apps="$apps $name"
      # shellcheck disable=SC2086
      if ! site_app "$name" && { [ -z "$ports" ] || ! allowed $ports; }; then
        problem "the application firewall lets $name accept incoming connections, which the site does not allow (add it to [firewall] apps, or apply blocks it)"
      fi
      ;;
  esac
done <<EOF
$found
EOF
obs firewall_allowed_apps "${apps# }"
finish "inbound allowed only for the site's scoped entries"
