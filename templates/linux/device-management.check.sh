{{> linux/_lib.sh}}
# ITP07 7.1.4: the site's locate/disable agent installed and active. Linux has no standard mechanism.
{{#if site.device_management.service}}
svc={{site.device_management.service}}
if systemctl cat "$svc" >/dev/null 2>&1; then obs installed yes; else problem "the device management agent ($svc) is not installed"; fi
if svc_active "$svc"; then obs active yes; else problem "$svc is not running"; fi
svc_enabled "$svc" || problem "$svc is not enabled at boot"
finish "device management agent $svc is active"
{{else}}
result false "the site names no device-management agent ([device_management] service): a technician must confirm how this device can be located and disabled" manual
{{/if}}
