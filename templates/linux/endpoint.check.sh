{{> linux/_lib.sh}}
# ITP07 7.1.4 and 7.1.6(3): endpoint protection installed, running, scanning on access where the kernel
# allows it, with definitions updated in the last 24 hours.
{{#if (eq site.endpoint.product "defender")}}
# Microsoft Defender for Endpoint (learn.microsoft.com: mdatp health fields).
command -v mdatp >/dev/null 2>&1 || result false "Microsoft Defender for Endpoint (mdatp) is not installed"
field() { mdatp health --field "$1" 2>/dev/null | tr -d '"' | oneline; }
healthy=$(field healthy) rtp=$(field real_time_protection_enabled) defs=$(field definitions_status)
obs healthy "$healthy"
obs real_time_protection_enabled "$rtp"
obs definitions_status "$defs"
[ "$healthy" = true ] || problem "mdatp is not healthy"
[ "$rtp" = true ] || problem "real-time protection is off"
[ "$defs" = up_to_date ] || problem "definitions are $defs"
finish "Microsoft Defender for Endpoint healthy, real-time protection on, definitions up to date"
{{else if (eq site.endpoint.product "site")}}
svc={{site.endpoint.service}}
if svc_active "$svc"; then obs "$svc" active; else problem "the site's endpoint protection service $svc is not running"; fi
svc_enabled "$svc" || problem "$svc is not enabled at boot"
finish "the site's endpoint protection ($svc) is running"
{{else}}
# ClamAV: the scanner daemon and freshclam running; definitions from the newest database file.
set -- {{#each vars.clamav_packages}}{{this}} {{/each}}
for p in "$@"; do pkg_installed "$p" || problem "$p is not installed"; done
set -- {{#each vars.clamav_services}}{{this}} {{/each}}
for s in "$@"; do
  if svc_active "$s"; then obs "$s" active; else obs "$s" inactive; problem "$s is not running"; fi
done
# The newer of daily.cvd and daily.cld: one stat for both.
newest=''
for t in $(stat -c %Y /var/lib/clamav/daily.cvd /var/lib/clamav/daily.cld 2>/dev/null); do
  [ -n "$newest" ] && [ "$t" -le "$newest" ] || newest=$t
done
if [ -z "$newest" ]; then
  obs definitions none
  problem "no ClamAV definitions (daily.cvd/cld): freshclam has not downloaded any"
else
  age_h=$(( (HANDOVER_NOW_EPOCH - ${newest%.*}) / 3600 ))
  obs definitions_age_hours "$age_h"
  [ "$age_h" -le 24 ] || problem "ClamAV definitions are $age_h hours old (more than 24)"
fi
# On-access scanning (clamonacc) needs fanotify permission events in the kernel.
kernel=''
read -r kernel 2>/dev/null </proc/sys/kernel/osrelease || kernel=$(uname -r)
if grep -qs '^CONFIG_FANOTIFY_ACCESS_PERMISSIONS=y' "/boot/config-$kernel"; then
  if pgrep -x clamonacc >/dev/null 2>&1; then obs on_access active; else obs on_access inactive; problem "on-access scanning (clamonacc) is not running"; fi
else
  obs on_access "not available: the kernel's fanotify permission events are off or its config is unreadable"
fi
finish "ClamAV running with definitions from the last 24 hours"
{{/if}}
