{{> macos/_lib.sh}}
# ITP07 7.1.3: Software Update checks, downloads and installs macOS, security (Rapid Security Response and
# XProtect) and configuration data updates by itself. A missing key means Apple's default, which is on for all
# but AutomaticallyInstallMacOSUpdates (off unless set: mSCP requires it to be true); a configuration
# profile's value (/Library/Managed Preferences) wins over the local one (mSCP reads both).
# The keys: mSCP system_settings_software_update_enforce, ..._download_software_update_enforce,
# ..._install_macos_updates_enforce, ..._critical_update_install_enforce, os_config_data_install_enforce.
# macOS 26 removed the com.apple.SoftwareUpdate MDM payload in favour of the declarative
# com.apple.configuration.softwareupdate.settings; mSCP's tahoe rules read what a declaration set from
# /var/db/softwareupdate/SoftwareUpdateDDMStatePersistence.plist (SUCorePersistedStatePolicyFields:
# SUCoreDDMDeclarationGlobalSettings: automaticallyDownload, automaticallyInstallOSUpdates,
# automaticallyInstallSystemAndSecurityUpdates). Where that file holds a value, it wins.
d=com.apple.SoftwareUpdate
ddm=/var/db/softwareupdate/SoftwareUpdateDDMStatePersistence.plist
ddm_pref() { PlistBuddy -c "Print :SUCorePersistedStatePolicyFields:SUCoreDDMDeclarationGlobalSettings:$1" "$ddm" 2>/dev/null; }
if [ -f "$ddm" ]; then obs ddm_state "$ddm"; else obs ddm_state "none (no software-update declaration)"; fi
managed_off=''
for k in AutomaticCheckEnabled AutomaticDownload AutomaticallyInstallMacOSUpdates CriticalUpdateInstall ConfigDataInstall; do
  case "$k" in
    AutomaticDownload) dk=automaticallyDownload ;;
    AutomaticallyInstallMacOSUpdates) dk=automaticallyInstallOSUpdates ;;
    CriticalUpdateInstall | ConfigDataInstall) dk=automaticallyInstallSystemAndSecurityUpdates ;;
    *) dk='' ;;
  esac
  v='' src=''
  if [ -n "$dk" ]; then
    v=$(ddm_pref "$dk")
    [ -z "$v" ] || src=declaration
  fi
  if [ -z "$v" ]; then
    m=$(managed_pref "$d" "$k")
    if [ -n "$m" ]; then v=$m src=profile; else
      v=$(local_pref "$d" "$k")
      src=local
    fi
  fi
  obs "$k" "${v:-unset}${v:+ ($src)}"
  case "$v" in
    '') [ "$k" != AutomaticallyInstallMacOSUpdates ] || problem "$k is not set (off by default)" ;;
    0 | false | NO)
      if [ "$src" = local ]; then problem "$k is off"; else managed_off="$managed_off $k${src:+ ($src)}"; fi
      ;;
  esac
done
[ -z "$managed_off" ] || result false "managed by a configuration profile or declaration ($d):$managed_off off: change it there" error
finish "Software Update checks, downloads and installs macOS, security and configuration data updates"
