{{> macos/_lib.sh}}
# ITP07 7.1.4: the device can be located and disabled: enrolled in an MDM (profiles prints "MDM enrollment:
# Yes" or "Yes (User Approved)", and "MDM server: https://host/…"), or the site's own agent runs. When the site
# names its MDM server ([device_management] mdm_server), enrolment in any other (a reseller's, a previous
# owner's) does not count: host names are compared without case.
e=$(profiles status -type enrollment 2>&1)
obs enrollment "$(printf '%s\n' "$e" | oneline)"
srv=$(printf '%s\n' "$e" | sed -n 's/^[[:space:]]*MDM server:[[:space:]]*//p' | head -n 1)
host=$(printf '%s\n' "$srv" | sed 's|^[A-Za-z][A-Za-z0-9+.-]*://||; s|[/?#].*||; s|.*@||; s|:[0-9]*$||' | tr 'A-Z' 'a-z')
obs mdm_server "${host:-none}"
want=''
{{#if site.device_management.mdm_server}}
want={{site.device_management.mdm_server}}
want=$(printf '%s\n' "$want" | tr 'A-Z' 'a-z')
obs site_mdm_server "$want"
{{/if}}
case "$e" in
  *'MDM enrollment: Yes'*)
    [ -z "$want" ] || [ "$host" = "$want" ] || result false "enrolled in the MDM server ${host:-(none named)}, not the site's $want: release it from that MDM (a reseller's or a previous owner's) and enrol in the site's"
    result true "enrolled in MDM${host:+ ($host)}"
    ;;
esac
{{#if site.device_management.service}}
svc={{site.device_management.service}}
obs service "$svc"
job_running "$svc" || result false "not enrolled in MDM, and the site's agent $svc is not running"
result true "the site's device-management agent $svc is running"
{{else}}
result false "not enrolled in MDM${want:+ ($want)} and the site names no device-management agent ([device_management] service): a technician must confirm how this device can be located and disabled" manual
{{/if}}
