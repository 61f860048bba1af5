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
  # sshd -T loads every host key before it prints anything; the RSA and ECDSA ones go through OpenSSL, most
  # of its time. The configuration it prints does not depend on them: given the Ed25519 key alone (-h, which
  # OpenSSH parses itself) it prints the same, in a fifth less time; without that key, sshd -T as it is.
  if out=$(sshd -T -h /etc/ssh/ssh_host_ed25519_key 2>/dev/null) || out=$(sshd -T 2>&1); then
    # sshd -T prints one "keyword value" a line, keywords in lower case. Line by line: dash's ${v#*X} is
    # quadratic in the length of v, and this output is a few KB.
    prl=''
    set -f
    _ifs=$IFS IFS=$_nl
    for l in $out; do
      case "$l" in 'permitrootlogin '*) prl=${l#permitrootlogin } ;; esac
    done
    IFS=$_ifs
    set +f
    obs sshd_permitrootlogin "$prl"
    [ "$prl" = no ] || problem "sshd allows root logins (sshd -T: permitrootlogin $prl)"
  else
    problem "sshd -T failed: $(printf '%s' "$out" | oneline)"
  fi
else
  obs sshd "not installed"
fi
finish "root is locked and sshd refuses root logins"
