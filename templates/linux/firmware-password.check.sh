{{> linux/_lib.sh}}
# ITP07 7.1.2: the BIOS/UEFI admin password, read from the kernel's firmware-attributes class
# (dell-wmi-sysman, think-lmi, hp-bioscfg) where the firmware exposes it.
found=''
for f in /sys/class/firmware-attributes/*/authentication/Admin/is_enabled; do
  [ -r "$f" ] || continue
  found=1
  v=$(cat "$f")
  obs "$f" "$v"
  [ "$v" = 1 ] || problem "BIOS/UEFI admin password is not set ($f)"
done
[ -n "$found" ] || result false "no firmware interface here reports the BIOS/UEFI admin password: a technician must confirm it" manual
finish "BIOS/UEFI admin password is set"
