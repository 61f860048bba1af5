{{> macos/_lib.sh}}
set -e
# Microsoft's "Microsoft 365 and Office" suite package (Microsoft_365_and_Office_<version>_Installer.pkg),
# the site's verified copy. It brings Microsoft AutoUpdate.
if [ -z "$(app_version '/Applications/Microsoft Word.app')" ] || [ -z "$(app_version '/Library/Application Support/Microsoft/MAU2.0/Microsoft AutoUpdate.app')" ]; then
  install_pkg "${HANDOVER_ARTIFACT_OFFICE_PKG:?the office-pkg artifact was not staged}"
else
  for app in Excel PowerPoint Outlook OneNote; do
    [ -n "$(app_version "/Applications/Microsoft $app.app")" ] || { install_pkg "${HANDOVER_ARTIFACT_OFFICE_PKG:?the office-pkg artifact was not staged}"; break; }
  done
fi
if [ "$(local_pref com.microsoft.autoupdate2 HowToCheck)" = Manual ]; then
  defaults write /Library/Preferences/com.microsoft.autoupdate2 HowToCheck -string AutomaticDownload
  echo "Microsoft AutoUpdate set to AutomaticDownload"
fi
for u in $(interactive_users); do
  p="/Users/$u/Library/Preferences/com.microsoft.autoupdate2"
  if [ "$(defaults read "$p" HowToCheck 2>/dev/null)" = Manual ]; then
    defaults write "$p" HowToCheck -string AutomaticDownload
    chown "$u" "$p.plist"
    echo "Microsoft AutoUpdate set to AutomaticDownload for $u"
  fi
done
