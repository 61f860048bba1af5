# _pw_load: every account's password status into $_fact_pw, " NAME:STATUS ..." for each line of /etc/shadow, read
# once by the shell (no process). STATUS is what `passwd -S` prints, derived as shadow-utils' passwd derives it
# from the password field (src/passwd.c, pw_status): L (locked: the field starts with "!" or "*"), NP (empty),
# P (a password is set). Fails, leaving it unset, when /etc/shadow cannot be read (not root).
_pw_load() {
  [ -r /etc/shadow ] || return 1
  _fact_pw=' '
  while IFS=: read -r _pn _pp _; do
    case "$_pp" in '!'* | '*'*) _pp=L ;; '') _pp=NP ;; *) _pp=P ;; esac
    _fact_pw="$_fact_pw$_pn:$_pp "
  done 2>/dev/null </etc/shadow
}
