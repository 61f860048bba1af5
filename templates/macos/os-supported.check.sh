{{> macos/_lib.sh}}
# ITP07 7.1.1. Apple publishes no end-of-support dates: the lifecycle table's macOS rows are endoflife.date's
# (macOS 13 ended 2025-09-15) and estimates by the same rule for the others (see profiles/lifecycle.toml).
# Today comes from handover (HANDOVER_TODAY, YYYYMMDD) so that the clock is injectable.
ver=$(sw_vers -productVersion 2>/dev/null)
obs lifecycle_source {{lifecycle.source}}
obs version "$ver"
obs build "$(sw_vers -buildVersion 2>/dev/null)"
found='' name='' regular='' regular_d=''
case "${ver%%.*}" in
{{#each lifecycle.releases}}
{{#if (eq id "macos")}}
  {{version}})
    found=1 name={{name}} regular={{regular_end_num}} regular_d={{regular_end}}
    ;;
{{/if}}
{{/each}}
esac
# A release the table does not know cannot be judged: error (not fail), naming the way to teach it.
[ -n "$found" ] || result false "no lifecycle entry for macOS ${ver:-unknown}: this release is unknown to handover's lifecycle table; add it with handover lifecycle import (an endoflife.date export)" error
obs name "$name"
obs regular_end "$regular_d"
obs support_ends "$regular_d"
[ "$HANDOVER_TODAY" -gt "$regular" ] || result true "$name: security updates until $regular_d"
result false "$name: security support ended $regular_d: upgrade macOS or record an approved waiver (ITP07 10)"
