# The pf rules handover keeps in its own anchor (/etc/pf.anchors/handover), loaded at boot from /etc/pf.conf
# by handover's launchd job, as mSCP's supplemental pf setup does (includes/enablePF-mscp.sh). The application
# firewall decides which programs may listen; these rules scope the site's ports to the site's sources:
# each entry passes its source, and every other source is blocked on that port.
anchor_file=/etc/pf.anchors/handover
job=uk.ac.handover.pf
job_plist=/Library/LaunchDaemons/uk.ac.handover.pf.plist
want_rules() {
  printf '%s\n' '# handover: ITP07 7.1.5 inbound scoping (rendered from the site; edits are undone by apply)'
  printf '%s\n' 'pass in quick on lo0 all'
  _ports=''
{{#each firewall.allow}}
  printf 'pass in quick proto %s from %s to any port %s\n' {{proto}} {{from}} {{port}}
  _ports="$_ports "{{proto}}/{{port}}
{{/each}}
  for _p in $(printf '%s\n' $_ports | sort -u); do
    printf 'block in quick proto %s from any to any port %s\n' "${_p%/*}" "${_p#*/}"
  done
}
