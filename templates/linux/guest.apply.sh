{{> linux/_lib.sh}}
set -e
# Never delete an account (its files may matter): lock it, expire it and take its shell away.
if getent passwd guest >/dev/null; then
  usermod -L -e 1 -s /usr/sbin/nologin guest
  echo "locked and expired the local account guest"
fi
if [ -d /etc/lightdm ]; then
  mkdir -p /etc/lightdm/lightdm.conf.d
  printf '%s\n' '# handover: ITP07 7.1.2' '[Seat:*]' 'allow-guest=false' | write_file /etc/lightdm/lightdm.conf.d/50-handover-no-guest.conf 644
fi
