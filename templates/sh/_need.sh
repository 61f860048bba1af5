# Checks that read /etc/shadow or ask sudo about other users tell nothing true without root: say so.
need_root() {
  [ "${_fact_uid:-$(id -u)}" = 0 ] || result false "needs root to read $1: run handover as root" error
}

# Fail early, naming the flag, when the named user is needed but not known.
need_user() {
  if [ -z "${HANDOVER_USER:-}" ]; then
    result false "no user named: give --user NAME (handover remembers it from the handover apply)"
  fi
}
