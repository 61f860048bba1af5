{{> macos/_lib.sh}}
# ITP07 7.1.4: the device can be located and disabled: enrolled in an MDM (profiles prints "MDM enrollment:
# Yes" or "Yes (User Approved)"), or the site's own agent runs.
e=$(profiles status -type enrollment 2>&1 | oneline)
obs enrollment "$e"
case "$e" in *'MDM enrollment: Yes'*) result true "enrolled in MDM ($e)" ;; esac
{{#if site.device_management.service}}
svc={{site.device_management.service}}
obs service "$svc"
job_running "$svc" || result false "not enrolled in MDM, and the site's agent $svc is not running"
result true "the site's device-management agent $svc is running"
{{else}}
result false "not enrolled in MDM and the site names no device-management agent ([device_management] service): a technician must confirm how this device can be located and disabled" manual
{{/if}}
