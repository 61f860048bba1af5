{{> macos/_lib.sh}}
# ITP07 7.1.6(1): Microsoft 365 Apps installed, each app bundle there with its version (not only the package
# receipt, which survives an app dragged to the Bin), and Microsoft AutoUpdate there and not set to manual
# (com.microsoft.autoupdate2 HowToCheck: AutomaticDownload is the default; Microsoft's "Set preferences for
# Microsoft AutoUpdate"). The site's [office] exclude_apps leaves apps out by their ODT names.
set -- {{#each site.office.exclude_apps}}{{this}} {{/each}}
excluded=" $* "
for app in Word Excel PowerPoint Outlook OneNote; do
  case "$excluded" in *" $app "*) obs "$app" excluded; continue ;; esac
  v=$(app_version "/Applications/Microsoft $app.app")
  obs "$app" "${v:-missing}"
  [ -n "$v" ] || problem "Microsoft $app is not installed"
done
mau='/Library/Application Support/Microsoft/MAU2.0/Microsoft AutoUpdate.app'
mv_=$(app_version "$mau")
obs autoupdate "${mv_:-missing}"
[ -n "$mv_" ] || problem "Microsoft AutoUpdate is missing, so Office cannot update itself"
m=$(managed_pref com.microsoft.autoupdate2 HowToCheck)
how=${m:-$(local_pref com.microsoft.autoupdate2 HowToCheck)}
obs how_to_check "${how:-unset (AutomaticDownload)}"
case "$how" in
  Manual)
    [ -z "$m" ] || result false "managed by a configuration profile (com.microsoft.autoupdate2 HowToCheck = Manual): change it there" error
    problem "Microsoft AutoUpdate is set to manual"
    ;;
esac
# A user's own setting (Microsoft AutoUpdate's preferences window) comes before the machine's.
if [ -z "$m" ]; then
  for u in $(interactive_users); do
    [ "$(defaults read "/Users/$u/Library/Preferences/com.microsoft.autoupdate2" HowToCheck 2>/dev/null)" != Manual ] || problem "Microsoft AutoUpdate is set to manual for $u"
  done
fi
finish "Microsoft 365 Apps installed, Microsoft AutoUpdate on"
