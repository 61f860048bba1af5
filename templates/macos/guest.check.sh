{{> macos/_lib.sh}}
{{> macos/_guest.sh}}
need_root 'the guest account settings'
# ITP07 7.1.2: the built-in Guest User off, and no guest access to shared folders. SMB guest access is read with
# `sysadminctl -smbGuestAccess status` wherever it answers ("SMB guest access disabled": mSCP's
# system_settings_guest_access_smb_disable, tahoe branch, aligned with CIS macOS 26 2.13.2 in mSCP commit
# 03347920); only when it gives no answer (older releases) the SMB server's preference, as mSCP's sequoia branch
# reads it (com.apple.smb.server AllowGuestAccess).
guest_user
smb=$(sysadminctl -smbGuestAccess status 2>&1 | oneline)
case "$smb" in
  *'SMB guest access disabled'*) obs smb_guest_access "$smb" ;;
  *'SMB guest access enabled'*)
    obs smb_guest_access "$smb"
    problem "guests may open shared folders (sysadminctl -smbGuestAccess)"
    ;;
  *)
    pref=$(defaults read /Library/Preferences/SystemConfiguration/com.apple.smb.server AllowGuestAccess 2>/dev/null)
    obs smb_guest_access "sysadminctl gave no answer (${smb:-nothing}); com.apple.smb.server AllowGuestAccess: ${pref:-unset}"
    [ "$pref" != 1 ] || problem "guests may open shared folders (com.apple.smb.server AllowGuestAccess = 1)"
    ;;
esac
guest_done
