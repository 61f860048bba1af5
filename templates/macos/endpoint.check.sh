{{> macos/_lib.sh}}
# ITP07 7.1.4 / 7.1.6(3): endpoint protection installed, running, real-time scanning on, definitions under
# 24 hours old, tamper protection on. macOS has none of its own (XProtect is not managed protection), so the
# site names one: Microsoft Defender for Endpoint (mdatp health fields, Microsoft's "Check the health of
# Defender for Endpoint on Mac"), or its own product by launchd label.
product={{#if site.endpoint.product}}{{site.endpoint.product}}{{else}}''{{/if}}
obs product "${product:-none}"
case "$product" in
  defender)
    command -v mdatp >/dev/null 2>&1 || result false "Microsoft Defender for Endpoint is not installed (no mdatp)"
    # mdatp health --field F prints the bare value (older releases 1/0 for booleans; a licence warning can
    # come first): the last line counts.
    field() { mdatp health --field "$1" 2>/dev/null | tail -n 1 | tr -d '"' | sed 's/ \[managed\]$//'; }
    healthy=$(field healthy)
    rtp=$(field real_time_protection_enabled)
    defs=$(field definitions_status)
    age=$(field definitions_updated_minutes_ago)
    tamper=$(field tamper_protection)
    issues=$(field health_issues)
    org=$(field org_id)
    obs healthy "$healthy"
    obs real_time_protection "$rtp"
    obs definitions_status "$defs"
    obs definitions_minutes_ago "$age"
    obs tamper_protection "$tamper"
    obs health_issues "$issues"
    # An organisation id means onboarded; without one Defender reports to no tenant (a plain wdav.pkg has no
    # onboarding).
    nob=''
    if [ -n "$org" ]; then obsb onboarded true; else
      obsb onboarded false
      nob='; not onboarded (no organisation id)'
    fi
    case "$healthy" in true | 1) ;; *) problem "Defender is not healthy: ${issues:-no reason given} (approving its system extensions and Full Disk Access needs the user or an MDM profile)$nob" ;; esac
    case "$rtp" in true | 1) ;; *) problem "real-time protection is off" ;; esac
    case "$age" in '' | *[!0-9]*) problem "definitions age unknown ($defs)" ;; *) [ "$age" -le 1440 ] || problem "definitions are $age minutes old" ;; esac
    [ "$tamper" = block ] || problem "tamper protection is not in block mode (${tamper:-unknown})"
    finish "Microsoft Defender for Endpoint healthy, real-time protection on, definitions $age minutes old"
    ;;
  site)
    svc={{#if site.endpoint.service}}{{site.endpoint.service}}{{else}}''{{/if}}
    obs service "$svc"
    job_running "$svc" || result false "the site's endpoint protection ($svc) is not running"
    finish "the site's endpoint protection ($svc) is running"
    ;;
  '') result false "macOS has no endpoint protection of its own: name one in the site ([endpoint] product = \"defender\" or \"site\")" ;;
  *) result false "$product is not available on macOS: use [endpoint] product = \"defender\" or \"site\"" ;;
esac
