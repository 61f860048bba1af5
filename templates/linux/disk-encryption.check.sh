{{> linux/_lib.sh}}
# ITP07 7.1 (controls equivalent to managed devices): the block device under / has a LUKS (dm-crypt)
# ancestor. Check only: encryption is chosen at install, where its recovery key can be escrowed.
# In a container, systemd as PID 1 writes the name its manager gave it (the `container` variable) to
# /run/systemd/container, one of the places systemd-detect-virt looks (systemd's src/basic/virt.c,
# detect_container): when it is there the shell reads it, no process; otherwise systemd-detect-virt decides.
virt=''
read -r virt 2>/dev/null </run/systemd/container || virt=$(systemd-detect-virt --container 2>/dev/null || true)
if [ -n "$virt" ] && [ "$virt" != none ]; then
  result false "runs in a container ($virt): its disk belongs to the host" not-applicable
fi
src=$(findmnt -n -o SOURCE / 2>/dev/null)
fstype=$(findmnt -n -o FSTYPE / 2>/dev/null)
dev=${src%%\[*}
obs root_source "$src"
obs root_fstype "$fstype"
if [ "$fstype" = zfs ]; then
  # ZFS native encryption (Ubuntu's installer option) is a dataset property, not a LUKS layer.
  enc=$(zfs get -H -o value encryption "$src" 2>/dev/null)
  obs zfs_encryption "${enc:-unknown}"
  case "$enc" in
    '' | off | -) result false "/ is on ZFS dataset $src without native encryption" ;;
    *) result true "/ is on ZFS dataset $src with native encryption ($enc)" ;;
  esac
fi
case "$dev" in
  /dev/*) ;;
  *) result false "/ is on $src ($fstype), which handover cannot trace to a disk: a technician must confirm encryption" manual ;;
esac
chain=$(lsblk -n -s -o NAME,TYPE,FSTYPE "$dev" 2>/dev/null | oneline)
obs chain "$chain"
if lsblk -n -s -o TYPE,FSTYPE "$dev" 2>/dev/null | grep -Eq '(^|[[:space:]])(crypt|crypto_LUKS)'; then
  result true "/ is on an encrypted device ($chain)"
fi
result false "/ is not on an encrypted device ($chain): encryption must be set up at install; reinstall with LUKS or record a waiver"
