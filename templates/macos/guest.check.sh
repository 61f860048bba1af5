{{> macos/_lib.sh}}
need_root 'the guest account settings'
# ITP07 7.1.2: the built-in Guest User off, and no guest access to shared folders. sysadminctl writes
# "... Guest account disabled." to stderr; the SMB check is mSCP's system_settings_guest_access_smb_disable.
st=$(sysadminctl -guestAccount status 2>&1 | oneline)
obs guest_account "$st"
case "$st" in
  *'Guest account disabled'*) ;;
  *'Guest account enabled'*) problem "the Guest User is on" ;;
  *) problem "sysadminctl did not say whether the Guest User is on: $st" ;;
esac
smb=$(defaults read /Library/Preferences/SystemConfiguration/com.apple.smb.server AllowGuestAccess 2>/dev/null)
obs smb_allow_guest "${smb:-unset}"
[ "$smb" != 1 ] || problem "guests may open shared folders (com.apple.smb.server AllowGuestAccess = 1)"
# A configuration profile that turns the guest on wins over sysadminctl: name it.
mcx=$(managed_pref com.apple.MCX EnableGuestAccount)
if [ "$mcx" = 1 ]; then
  result false "managed by a configuration profile (com.apple.MCX EnableGuestAccount = 1): change it there" error
fi
finish "the Guest User is off and guests cannot open shared folders"
