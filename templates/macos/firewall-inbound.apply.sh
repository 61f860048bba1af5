{{> macos/_lib.sh}}
{{> macos/_pf.sh}}
set -e
# pfctl -n parses without loading: rules that would not load never replace the ones in place.
want_rules >"$anchor_file.handover-new"
pfctl -n -f "$anchor_file.handover-new" || { rm -f "$anchor_file.handover-new"; exit 1; }
rm -f "$anchor_file.handover-new"
want_rules | write_file "$anchor_file" 644
# /etc/pf.conf is Apple's; the two lines are appended once, after Apple's anchors, and kept as a copy first.
if ! grep -qx 'anchor "handover"' /etc/pf.conf || ! grep -qx 'load anchor "handover" from "/etc/pf.anchors/handover"' /etc/pf.conf; then
  mkdir -p "$HANDOVER_STATE_DIR"
  cp /etc/pf.conf "$HANDOVER_STATE_DIR/pf.conf.before"
  grep -vx -e 'anchor "handover"' -e 'load anchor "handover" from "/etc/pf.anchors/handover"' -e '# handover: ITP07 7.1.5' /etc/pf.conf >"/etc/pf.conf.handover-new"
  printf '%s\n' '# handover: ITP07 7.1.5' 'anchor "handover"' 'load anchor "handover" from "/etc/pf.anchors/handover"' >>"/etc/pf.conf.handover-new"
  pfctl -n -f /etc/pf.conf.handover-new || { rm -f /etc/pf.conf.handover-new; exit 1; }
  chmod 644 /etc/pf.conf.handover-new
  mv -f /etc/pf.conf.handover-new /etc/pf.conf
  echo "added handover's anchor to /etc/pf.conf (previous copy: $HANDOVER_STATE_DIR/pf.conf.before)"
fi
write_file "$job_plist" 644 <"${HANDOVER_FILE_PF_LAUNCHD_PLIST:?the launchd job was not rendered}"
chown root:wheel "$job_plist"
launchctl enable "system/$job"
launchctl print "system/$job" >/dev/null 2>&1 || launchctl bootstrap system "$job_plist"
pfctl -f /etc/pf.conf
pfctl -e 2>/dev/null || true
