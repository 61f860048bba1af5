{{> linux/_lib.sh}}
set -e
# SPEC 7, in this order: create the separate admin, verify it, and only then demote the user.
u=${HANDOVER_USER:?no user named}
a=${HANDOVER_ADMIN_USER:?no admin account named}
grp={{vars.admin_group}}
command -v sudo >/dev/null 2>&1 || pkg_install sudo
if ! id "$a" >/dev/null 2>&1; then
  [ -n "${HANDOVER_SECRET_ADMIN_PASSWORD:-}" ] || { echo "no password for the new account $a" >&2; exit 1; }
  useradd -m -s /bin/bash -c "separate admin account of $u" -G "$grp" "$a"
  echo "created $a in group $grp"
fi
case " $(id -nG "$a") " in *" $grp "*) ;; *) usermod -a -G "$grp" "$a" ;; esac
if [ -n "${HANDOVER_SECRET_ADMIN_PASSWORD:-}" ]; then
  # printf is a shell builtin: the password never appears in a process's command line.
  printf '%s:%s\n' "$a" "$HANDOVER_SECRET_ADMIN_PASSWORD" | chpasswd
  usermod -U "$a" 2>/dev/null || true
  chage -d 0 "$a"
  echo "set the password of $a; it must be changed at first login"
fi
# Verify before anything is taken away.
case " $(id -nG "$a") " in *" $grp "*) ;; *) echo "verification failed: $a is not in $grp" >&2; exit 1 ;; esac
case "$(passwd -S "$a" | awk '{ print $2 }')" in
  P | PS) ;;
  *) echo "verification failed: $a has no usable password" >&2; exit 1 ;;
esac
sudo -n -l -U "$a" | grep -q 'may run the following' || { echo "verification failed: sudo does not let $a run commands" >&2; exit 1; }
echo "verified $a"
# SPEC 7: demote only when handover set the admin's password (now or in an earlier run), so someone knows it.
if [ "${HANDOVER_ADMIN_PASSWORD_KNOWN:-}" != 1 ]; then
  echo "not demoting $u: handover has not set the password of $a, so it cannot know that the account works; give --admin-password-file" >&2
  exit 1
fi
# Demote the user: out of every root-equivalent group.
set -- {{#each vars.root_groups}}{{this}} {{/each}}
for g in "$@"; do
  case " $(id -nG "$u") " in
    *" $g "*) gpasswd -d "$u" "$g" >/dev/null && echo "removed $u from $g" ;;
  esac
done
if sudo -n -l -U "$u" | grep -q 'may run the following'; then
  echo "$u still has sudo rights from a sudoers rule that names it; edit it with visudo:" >&2
  grep -rls -- "$u" /etc/sudoers /etc/sudoers.d 2>/dev/null >&2 || true
  exit 1
fi
