{{> linux/_lib.sh}}
# ITP07 7.1 (controls equivalent to managed devices): the block device under / has a LUKS (dm-crypt)
# ancestor. Check only: encryption is chosen at install, where its recovery key can be escrowed.
virt=$(systemd-detect-virt --container 2>/dev/null || true)
if [ -n "$virt" ] && [ "$virt" != none ]; then
  result false "runs in a container ($virt): its disk belongs to the host" not-applicable
fi
src=$(findmnt -n -o SOURCE / 2>/dev/null)
dev=${src%%\[*}
obs root_source "$src"
case "$dev" in
  /dev/*) ;;
  *) result false "/ is on $src, not a block device" not-applicable ;;
esac
chain=$(lsblk -n -s -o NAME,TYPE,FSTYPE "$dev" 2>/dev/null | oneline)
obs chain "$chain"
if lsblk -n -s -o TYPE,FSTYPE "$dev" 2>/dev/null | grep -Eq '(^|[[:space:]])(crypt|crypto_LUKS)'; then
  result true "/ is on an encrypted device ($chain)"
fi
result false "/ is not on an encrypted device ($chain): encryption must be set up at install; reinstall with LUKS or record a waiver"
