{{> macos/_lib.sh}}
set -e
d=com.apple.SoftwareUpdate
for k in AutomaticCheckEnabled AutomaticDownload AutomaticallyInstallMacOSUpdates CriticalUpdateInstall ConfigDataInstall; do
  case "$(local_pref "$d" "$k")" in
    0 | false | NO)
      defaults write "/Library/Preferences/$d" "$k" -bool true
      echo "turned on $k"
      ;;
  esac
done
