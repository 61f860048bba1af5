# The Guest User (both macOS releases' guest checks): sysadminctl writes "... Guest account disabled." to
# stderr. guest_user records it; guest_done ends the check, naming a configuration profile that turns the
# guest on (it wins over sysadminctl).
guest_user() {
  st=$(sysadminctl -guestAccount status 2>&1 | oneline)
  obs guest_account "$st"
  case "$st" in
    *'Guest account disabled'*) ;;
    *'Guest account enabled'*) problem "the Guest User is on" ;;
    *) problem "sysadminctl did not say whether the Guest User is on: $st" ;;
  esac
}
guest_done() {
  mcx=$(managed_pref com.apple.MCX EnableGuestAccount)
  if [ "$mcx" = 1 ]; then
    result false "managed by a configuration profile (com.apple.MCX EnableGuestAccount = 1): change it there" error
  fi
  finish "the Guest User is off and guests cannot open shared folders"
}
