{{> macos/_lib.sh}}
{{> macos/_guest.sh}}
need_root 'the guest account settings'
# ITP07 7.1.2: the built-in Guest User off, and no guest access to shared folders. macOS 13-15: the SMB
# check is mSCP's system_settings_guest_access_smb_disable (sequoia branch), which reads the SMB server's
# preference.
guest_user
smb=$(defaults read /Library/Preferences/SystemConfiguration/com.apple.smb.server AllowGuestAccess 2>/dev/null)
obs smb_allow_guest "${smb:-unset}"
[ "$smb" != 1 ] || problem "guests may open shared folders (com.apple.smb.server AllowGuestAccess = 1)"
guest_done
