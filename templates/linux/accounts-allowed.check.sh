{{> linux/_lib.sh}}
need_root /etc/shadow
# ITP07 7.1.2 "Do not provide access to non-QMUL users": interactive local accounts (UID >= UID_MIN, a real
# login shell, not locked) other than the user, its admin account and the site's allowlist. Check only.
login_def UID_MIN 1000
uid_min=$_ld
set -- {{#each site.accounts.allowed}}{{this}} {{/each}}
ok=" ${HANDOVER_USER:-} ${HANDOVER_ADMIN_USER:-} $* "
stray=''
# account LINE: a line of /etc/passwd ("NAME:PASSWORD:UID:GID:GECOS:HOME:SHELL"); NAME joins the strays when it
# can log in and the site does not allow it. Its password status comes from pw_status.
account() {
  _oifs=$IFS IFS=:
  # shellcheck disable=SC2086 # split into fields on purpose (each_line expands no glob)
  set -- $1
  IFS=$_oifs
  name=$1 uid=${3-} shell=${7-}
  case "$uid" in '' | *[!0-9]*) return 0 ;; esac
  [ "$uid" -ge "$uid_min" ] && [ "$uid" -lt 65534 ] || return 0
  real_shell "$shell" || return 0
  ! pw_status "$name" || [ "$_ps" != L ] || return 0
  case "$ok" in *" $name "*) return 0 ;; esac
  stray="$stray $name"
}
each_line /etc/passwd account || problem "cannot read /etc/passwd"
set_words "$ok"
obs allowed "$_words"
obs unexpected "${stray# }"
[ -z "$stray" ] || problem "interactive accounts not allowed by the site:$stray (lock or remove them by hand; handover never deletes accounts)"
[ -n "${HANDOVER_USER:-}" ] || problem "no user named: give --user NAME"
finish "only the user, its admin account and the site's allowed accounts can log in"
