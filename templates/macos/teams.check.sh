{{> macos/_lib.sh}}
# ITP07 7.1.6(1): the new Teams (bundle id com.microsoft.teams2; classic Teams, com.microsoft.teams, is
# retired) installed, read from the app bundle. In 2023-24 the new Teams installed as "Microsoft Teams (work or
# school).app"; a Mac that has only that name has an old Teams, which a current MicrosoftTeams.pkg replaces.
app='/Applications/Microsoft Teams.app'
old='/Applications/Microsoft Teams (work or school).app'
v=$(app_version "$app")
id=$(app_id "$app")
ov=$(app_version "$old")
obs version "${v:-missing}"
obs bundle_id "${id:-none}"
obs work_or_school_app "${ov:-missing}"
if [ -z "$v" ]; then
  [ -z "$ov" ] || result false "only an old Teams is installed ($old, version $ov): install the current MicrosoftTeams.pkg"
  result false "Microsoft Teams is not installed"
fi
[ "$id" = com.microsoft.teams2 ] || result false "$app is $id, not the new Teams (com.microsoft.teams2)"
result true "Microsoft Teams $v installed"
