{{> macos/_lib.sh}}
# ITP07 7.1.2: a firmware password on Intel Macs (firmwarepasswd -check: "Password Enabled: Yes"). Apple
# silicon has none (and macOS 27 runs only there): changing its startup security (Full Security by default)
# already needs an administrator's credentials in recoveryOS, and its one extra lock, Recovery Lock, can only
# be set by an MDM (mSCP os_recovery_lock_enable). Not-applicable, not manual: there is nothing a technician
# could set here and attest.
if apple_silicon; then
  result false "Apple silicon has no firmware password: changing its startup security needs an administrator of this Mac in recoveryOS, and Recovery Lock can only be set by an MDM" not-applicable
fi
need_root 'the firmware password state'
st=$(firmwarepasswd -check 2>&1 | oneline)
obs firmwarepasswd "$st"
case "$st" in
  *'Password Enabled: Yes'*) result true "firmware password set" ;;
  *'Password Enabled: No'*) result false "no firmware password: a technician sets one (firmwarepasswd -setpasswd, or Startup Security Utility in recoveryOS)" ;;
  *) result false "firmwarepasswd did not say: $st" error ;;
esac
