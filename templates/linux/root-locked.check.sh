{{> linux/_lib.sh}}
need_root 'password status'
# ITP07 7.1.2: root locked (its password status L, as `passwd -S` says: pw_status) and sshd refusing root logins, read as
# sshd itself resolves its configuration (sshd -T), since locking a password does not stop SSH keys.
pw_status root || true
st=$_ps
obs root_password "${st:-unknown}"
case "$st" in
  L) ;;
  *) problem "root is not locked (password status: ${st:-unknown})" ;;
esac
if command -v sshd >/dev/null 2>&1; then
  # sshd -T refuses to run without its privilege separation directory, which a socket-activated ssh
  # (Ubuntu 24.04) creates only when it first starts; an empty runtime directory changes nothing.
  [ -d /run/sshd ] || mkdir -p /run/sshd
  if out=$(sshd -T 2>&1); then
    # sshd -T prints one "keyword value" a line, keywords in lower case.
    prl=$_nl$out$_nl
    case "$prl" in *"${_nl}permitrootlogin "*) prl=${prl#*"${_nl}permitrootlogin "} && prl=${prl%%"$_nl"*} ;; *) prl='' ;; esac
    obs sshd_permitrootlogin "$prl"
    [ "$prl" = no ] || problem "sshd allows root logins (sshd -T: permitrootlogin $prl)"
  else
    problem "sshd -T failed: $(printf '%s' "$out" | oneline)"
  fi
else
  obs sshd "not installed"
fi
finish "root is locked and sshd refuses root logins"
