{{> macos/_lib.sh}}
{{> macos/_pf.sh}}
set -e
# pfctl -n parses without loading: rules that would not load never replace the ones in place.
want_rules >"$anchor_file.handover-new"
pfctl -n -f "$anchor_file.handover-new" || { rm -f "$anchor_file.handover-new"; exit 1; }
rm -f "$anchor_file.handover-new"
want_rules | write_file "$anchor_file" 644
# /etc/pf.conf is Apple's and stays so: lines an earlier handover appended are removed (a copy first).
if grep -qx -e 'anchor "handover"' -e 'load anchor "handover" from "/etc/pf.anchors/handover"' /etc/pf.conf; then
  mkdir -p "$HANDOVER_STATE_DIR"
  cp /etc/pf.conf "$HANDOVER_STATE_DIR/pf.conf.before"
  grep -vx -e 'anchor "handover"' -e 'load anchor "handover" from "/etc/pf.anchors/handover"' -e '# handover: ITP07 7.1.5' /etc/pf.conf >/etc/pf.conf.handover-new || true
  pfctl -n -f /etc/pf.conf.handover-new || { rm -f /etc/pf.conf.handover-new; exit 1; }
  chmod 644 /etc/pf.conf.handover-new
  mv -f /etc/pf.conf.handover-new /etc/pf.conf
  pfctl -a handover -F rules 2>/dev/null || true
  echo "removed an earlier handover's lines from /etc/pf.conf (previous copy: $HANDOVER_STATE_DIR/pf.conf.before)"
fi
write_file "$job_plist" 644 <"${HANDOVER_FILE_PF_LAUNCHD_PLIST:?the launchd job was not rendered}"
chown root:wheel "$job_plist"
launchctl enable "system/$job"
launchctl print "system/$job" >/dev/null 2>&1 || launchctl bootstrap system "$job_plist"
# Apple's ruleset (with its com.apple/* anchor point) only when pf does not hold it, then handover's anchor.
pfctl -s rules 2>/dev/null | grep -q '^anchor "com.apple/\*"' || pfctl -f /etc/pf.conf
pfctl -a "$pf_anchor" -f "$anchor_file"
pfctl -E 2>/dev/null || true
# Application firewall exceptions the site does not allow are blocked (socketfilterfw --blockapp keeps the
# app listed, blocked). Sharing services stay as the user set them: turning one off is for a person.
manual=''
found=$(exposure)
while IFS='	' read -r kind name ports how; do
  case "$kind" in
    app)
      # shellcheck disable=SC2086 # the ports are words
      if ! site_app "$name" && { [ -z "$ports" ] || ! allowed $ports; }; then
        socketfilterfw --blockapp "$name"
        echo "blocked incoming connections to $name"
      fi
      ;;
    on)
      # shellcheck disable=SC2086
      allowed $ports || manual="$manual; turn off $name ($how), or add a scoped site entry for $ports"
      ;;
  esac
done <<EOF
$found
EOF
[ -z "$manual" ] || needs_person "services listen that the site does not allow${manual}"
