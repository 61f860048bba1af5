{{> linux/_lib.sh}}
set -e
want_len={{site.accounts.password_min_length}}
want_cls={{site.accounts.password_min_classes}}
set -- {{#each vars.pwquality_packages}}{{this}} {{/each}}
for p in "$@"; do pkg_installed "$p" || pkg_install "$p"; done
mkdir -p /etc/security/pwquality.conf.d
conf=/etc/security/pwquality.conf.d/50-handover.conf
before=$(cat "$conf" 2>/dev/null || true)
printf '%s\n' '# handover: ITP07 7.1.2 password policy' "minlen = $want_len" "minclass = $want_cls" 'enforce_for_root' | write_file "$conf" 644
# A weaker value elsewhere could be the one libpwquality uses: comment it out.
for f in /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf; do
  [ -f "$f" ] && [ "$f" != "$conf" ] || continue
  if grep -Eq '^[[:space:]]*(minlen|minclass)[[:space:]]*=' "$f"; then
    sed -i -E 's/^[[:space:]]*(minlen|minclass)[[:space:]]*=/# handover: &/' "$f"
    echo "commented out minlen/minclass in $f"
  fi
done
{{#if (eq vars.pkg "apt")}}
# pam-auth-update enables the pwquality profile that libpam-pwquality ships.
grep -Eqs '^[[:space:]]*password[[:space:]]+[^#]*pam_pwquality\.so' /etc/pam.d/common-password || pam-auth-update --enable pwquality
{{else}}
# authselect profiles of RHEL 9 and Fedora carry pam_pwquality; make sure the current profile is applied.
grep -Eqs '^[[:space:]]*password[[:space:]]+[^#]*pam_pwquality\.so' /etc/pam.d/system-auth || authselect apply-changes
{{/if}}
# No account may have an empty password: lock those.
for u in $(awk -F: '$2 == "" { print $1 }' /etc/shadow); do
  passwd -l "$u"
  echo "locked $u: it had an empty password"
done
# Passwords set before the policy may be weak: when the policy changed now, expire every interactive
# account's password so it must be changed (and meet the policy) at next login.
if [ "$before" != "$(cat "$conf")" ]; then
  login_def UID_MIN 1000
  uid_min=$_ld
  getent passwd | while IFS=: read -r name _ uid _ _ _ shell; do
    [ "$uid" -ge "$uid_min" ] && [ "$uid" -lt 65534 ] && real_shell "$shell" || continue
    case "$(passwd -S "$name" 2>/dev/null | awk '{ print $2 }')" in
      P | PS) chage -d 0 "$name" && echo "expired the password of $name (set before the policy)" ;;
    esac
  done
fi
