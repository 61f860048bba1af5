{{> macos/_lib.sh}}
{{> macos/_guest.sh}}
need_root 'the guest account settings'
# ITP07 7.1.2: the built-in Guest User off, and no guest access to shared folders. macOS 26 and later: mSCP's
# tahoe branch reads SMB guest access with `sysadminctl -smbGuestAccess status` and wants "SMB guest access
# disabled" (system_settings_guest_access_smb_disable, aligned with CIS macOS 26 2.13.2 in mSCP commit
# 03347920); the com.apple.smb.server preference the 13-15 check reads is no longer where it is kept.
guest_user
smb=$(sysadminctl -smbGuestAccess status 2>&1 | oneline)
obs smb_guest_access "$smb"
case "$smb" in
  *'SMB guest access disabled'*) ;;
  *'SMB guest access enabled'*) problem "guests may open shared folders (sysadminctl -smbGuestAccess)" ;;
  *) problem "sysadminctl did not say whether guests may open shared folders: $smb" ;;
esac
guest_done
