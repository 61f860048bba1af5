{{> linux/_lib.sh}}
# ITP07 7.1.1. Dates from the lifecycle table shipped with the profiles; today comes from handover
# (HANDOVER_TODAY, YYYYMMDD) so that the clock is injectable.
. /etc/os-release
obs lifecycle_source {{lifecycle.source}}
obs id "$ID"
obs version "${VERSION_ID:-}"
found='' name='' regular='' regular_d='' ext='' ext_d='' ext_kind='' enrol=''
case "$ID:${VERSION_ID:-}" in
{{#each lifecycle.releases}}
{{#unless (or build (eq id "macos"))}}
  {{id}}:{{version}} | {{id}}:{{version}}.*)
    found=1 name={{name}} regular={{regular_end_num}} regular_d={{regular_end}}
    {{#if extended_end}}ext={{extended_end_num}} ext_d={{extended_end}} ext_kind={{extended}}{{/if}}
    {{#if enrolment}}enrol={{enrolment}}{{/if}}
    ;;
{{/unless}}
{{/each}}
esac
# A release the table does not know cannot be judged: error (not fail), naming the way to teach it.
[ -n "$found" ] || result false "no lifecycle entry for $ID ${VERSION_ID:-}: this release is unknown to handover's lifecycle table; add it with handover lifecycle import (an endoflife.date export)" error
obs name "$name"
obs regular_end "$regular_d"
[ -z "$ext_d" ] || obs extended_end "$ext_d"

# enrolled KIND: is this device enrolled in the vendor's paid or extended support?
enrolled() {
  case "$1" in
    lts) return 0 ;;
    ubuntu-pro) command -v pro >/dev/null 2>&1 && pro status --format json 2>/dev/null | grep -Eq '"attached": *true' ;;
    subscription)
      command -v subscription-manager >/dev/null 2>&1 || return 1
      subscription-manager status 2>/dev/null | grep -Eq 'Overall Status: (Current|Disabled)|Simple Content Access' ;;
    *) return 1 ;;
  esac
}

if [ -n "$enrol" ]; then
  if enrolled "$enrol"; then obs enrolment "$enrol: yes"; else
    obs enrolment "$enrol: no"
    result false "$name gets updates only when enrolled ($enrol), and this device is not"
  fi
fi
case "$ext_kind" in
  lts) ext_name='Debian LTS' ;;
  ubuntu-pro) ext_name='Ubuntu Pro (ESM)' ;;
  subscription) ext_name='Extended Life Cycle Support' ;;
  *) ext_name="$ext_kind support" ;;
esac
# Extended support counts when this device qualifies for it (Debian LTS always, Ubuntu Pro attached, RHEL
# subscribed: checked above when it is also the enrolment). Its end is then the end of this device's support,
# else the regular end is (support_ends: handover warns from 90 days before it).
ext_ok=''
if [ -n "$ext" ]; then
  if { [ -n "$enrol" ] && [ "$ext_kind" = "$enrol" ]; } || enrolled "$ext_kind"; then ext_ok=1; fi
fi
if [ -n "$ext_ok" ]; then obs support_ends "$ext_d"; else obs support_ends "$regular_d"; fi
if [ "$HANDOVER_TODAY" -le "$regular" ]; then
  [ -z "$ext_ok" ] || result true "$name: regular security support until $regular_d, then $ext_name until $ext_d"
  result true "$name: regular security support until $regular_d"
fi
if [ -n "$ext" ] && [ "$HANDOVER_TODAY" -le "$ext" ]; then
  [ -z "$ext_ok" ] || result true "$name: regular support ended $regular_d; $ext_name until $ext_d"
  result false "$name: regular support ended $regular_d; $ext_name (until $ext_d) needs enrolment, and this device is not enrolled"
fi
result false "$name: security support ended ${ext_d:-$regular_d}: upgrade the OS or record an approved waiver (ITP07 10)"
