{{> macos/_lib.sh}}
# ITP07 7.1 (controls equivalent to managed devices): FileVault on. Check only: turning it on needs the user's
# password and a place for the recovery key, so apply never starts it.
st=$(fdesetup status 2>&1 | oneline)
obs filevault "$st"
# While it encrypts or decrypts, fdesetup prints "FileVault is On." above the progress line: that comes first.
case "$st" in
  *'Encryption in progress'*) result false "FileVault encryption is still in progress ($st)" ;;
  *'Decryption in progress'*) result false "FileVault is being turned off ($st)" ;;
  *'FileVault is On.'*) result true "FileVault is on" ;;
  *) result false "FileVault is not on ($st): turn it on in System Settings > Privacy & Security and escrow the recovery key" ;;
esac
