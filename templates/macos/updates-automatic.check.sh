{{> macos/_lib.sh}}
# ITP07 7.1.3: Software Update checks, downloads and installs macOS, security (Rapid Security Response and
# XProtect) and configuration data updates by itself. A missing key means Apple's default, which is on for all
# but AutomaticallyInstallMacOSUpdates (off unless set: mSCP requires it to be true); a configuration
# profile's value (/Library/Managed Preferences) wins over the local one (mSCP reads both).
# The keys: mSCP system_settings_software_update_enforce, ..._download_software_update_enforce,
# ..._install_macos_updates_enforce, ..._critical_update_install_enforce, os_config_data_install_enforce.
d=com.apple.SoftwareUpdate
managed_off=''
for k in AutomaticCheckEnabled AutomaticDownload AutomaticallyInstallMacOSUpdates CriticalUpdateInstall ConfigDataInstall; do
  m=$(managed_pref "$d" "$k")
  if [ -n "$m" ]; then v=$m src=profile; else
    v=$(local_pref "$d" "$k")
    src=local
  fi
  obs "$k" "${v:-unset}${v:+ ($src)}"
  case "$v" in
    '') [ "$k" != AutomaticallyInstallMacOSUpdates ] || problem "$k is not set (off by default)" ;;
    0 | false | NO)
      if [ "$src" = profile ]; then managed_off="$managed_off $k"; else problem "$k is off"; fi
      ;;
  esac
done
[ -z "$managed_off" ] || result false "managed by a configuration profile ($d):$managed_off off: change it there" error
finish "Software Update checks, downloads and installs macOS, security and configuration data updates"
