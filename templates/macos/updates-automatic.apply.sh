{{> macos/_lib.sh}}
set -e
d=com.apple.SoftwareUpdate
for k in AutomaticCheckEnabled AutomaticDownload AutomaticallyInstallMacOSUpdates CriticalUpdateInstall ConfigDataInstall; do
  v=$(local_pref "$d" "$k")
  case "$k:$v" in
    *:0 | *:false | *:NO | AutomaticallyInstallMacOSUpdates:)
      defaults write "/Library/Preferences/$d" "$k" -bool true
      echo "turned on $k"
      ;;
  esac
done
