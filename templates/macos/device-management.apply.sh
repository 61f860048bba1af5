{{> macos/_lib.sh}}
set -e
{{#if site.device_management.service}}
svc={{site.device_management.service}}
art=${HANDOVER_ARTIFACT_DEVICE_MANAGEMENT:-}
[ -n "$art" ] || { echo "$svc is not running and the site names no [device_management] artifact" >&2; exit 1; }
install_pkg "$art"
launchctl kickstart -k "system/$svc" 2>/dev/null || true
{{else}}
needs_person "enrolling in an MDM needs the user's approval (System Settings > Privacy & Security > Profiles), or name an agent in [device_management]"
{{/if}}
