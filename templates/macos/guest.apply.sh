{{> macos/_lib.sh}}
set -e
# sysadminctl is Apple's documented switch for both (mSCP fix for the guest and SMB guest rules).
sysadminctl -guestAccount off
sysadminctl -smbGuestAccess off
