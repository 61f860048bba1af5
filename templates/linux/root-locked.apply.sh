{{> linux/_lib.sh}}
set -e
# SPEC 7: never lock the technician out. handover checked that the separate admin account was verified in
# this run; check again here, on the device, right before root is locked.
admin="${HANDOVER_ADMIN_USER:?no admin account named}"
id "$admin" >/dev/null 2>&1 || { echo "refusing to lock root: $admin does not exist" >&2; exit 1; }
id -nG "$admin" | tr ' ' '\n' | grep -qx {{vars.admin_group}} || { echo "refusing to lock root: $admin is not in group "{{vars.admin_group}} >&2; exit 1; }
case "$(passwd -S "$admin" | awk '{ print $2 }')" in
  P | PS) ;;
  *) echo "refusing to lock root: $admin has no usable password" >&2; exit 1 ;;
esac

case "$(passwd -S root | awk '{ print $2 }')" in
  L | LK) ;;
  *) passwd -l root ;;
esac

if command -v sshd >/dev/null 2>&1; then
  [ -d /run/sshd ] || mkdir -p /run/sshd
  bak=".handover-bak.$$"
  # sshd uses the first value it reads, and Debian's and RHEL's sshd_config include sshd_config.d/*.conf at
  # the top, so a 00- drop-in wins over later lines.
  mkdir -p /etc/ssh/sshd_config.d
  printf '%s\n' '# handover: ITP07 7.1.2, no root logins over SSH' 'PermitRootLogin no' | write_file /etc/ssh/sshd_config.d/00-handover.conf 644
  if [ "$(sshd -T | awk '$1 == "permitrootlogin" { print $2 }')" != no ]; then
    # Something is read before our drop-in: comment out every other PermitRootLogin, keeping a backup.
    for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do
      [ -f "$f" ] && [ "$f" != /etc/ssh/sshd_config.d/00-handover.conf ] || continue
      if grep -Eqi '^[[:space:]]*PermitRootLogin[[:space:]]' "$f"; then
        cp -p "$f" "$f$bak"
        sed -i -E 's/^[[:space:]]*[Pp][Ee][Rr][Mm][Ii][Tt][Rr][Oo][Oo][Tt][Ll][Oo][Gg][Ii][Nn][[:space:]]/# handover: &/' "$f"
        echo "commented out PermitRootLogin in $f (backup $f$bak)"
      fi
    done
  fi
  if ! sshd -t; then
    for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do
      [ -f "$f$bak" ] && mv -f "$f$bak" "$f"
    done
    rm -f /etc/ssh/sshd_config.d/00-handover.conf
    echo "sshd -t rejected the new configuration; restored the previous one" >&2
    exit 1
  fi
  if systemctl is-active --quiet {{vars.ssh_service}}; then systemctl reload {{vars.ssh_service}}; fi
fi
