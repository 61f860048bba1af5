{{> macos/_lib.sh}}
# ITP07 7.1.6(1): the new Teams (bundle id com.microsoft.teams2; classic Teams, com.microsoft.teams, is
# retired) installed, read from the app bundle.
app='/Applications/Microsoft Teams.app'
v=$(app_version "$app")
id=$(app_id "$app")
obs version "${v:-missing}"
obs bundle_id "${id:-none}"
[ -n "$v" ] || result false "Microsoft Teams is not installed"
[ "$id" = com.microsoft.teams2 ] || result false "$app is $id, not the new Teams (com.microsoft.teams2)"
result true "Microsoft Teams $v installed"
