{{> macos/_lib.sh}}
set -e
product={{#if site.endpoint.product}}{{site.endpoint.product}}{{else}}''{{/if}}
art=${HANDOVER_ARTIFACT_ENDPOINT:-}
case "$product" in
  defender)
    # The artifact is wdav.pkg, or a directory artifact with wdav.pkg and Microsoft's onboarding script.
    if ! command -v mdatp >/dev/null 2>&1; then
      [ -n "$art" ] || { echo "Defender is not installed and the site names no [endpoint] artifact" >&2; exit 1; }
      if [ -d "$art" ]; then
        pkg=$(find "$art" -maxdepth 1 -name '*.pkg' | sort | head -n 1)
        [ -n "$pkg" ] || { echo "no .pkg in the endpoint artifact" >&2; exit 1; }
        install_pkg "$pkg"
      else
        install_pkg "$art"
      fi
    fi
    # Onboarded means an organisation id; a Mac installed earlier but never onboarded is onboarded now.
    if [ -z "$(mdatp health --field org_id 2>/dev/null | tail -n 1 | tr -d '"')" ] && [ -d "$art" ]; then
      if [ -f "$art/MicrosoftDefenderATPOnboardingMacOs.sh" ]; then
        /bin/bash "$art/MicrosoftDefenderATPOnboardingMacOs.sh"
      elif [ -f "$art/MicrosoftDefenderATPOnboardingMacOs.py" ]; then
        # /usr/bin/python3 is only a stub until the Command Line Tools are installed.
        xcode-select -p >/dev/null 2>&1 || { echo "the .py onboarding script needs python3 (Command Line Tools); use Microsoft's .sh onboarding script" >&2; exit 1; }
        /usr/bin/python3 "$art/MicrosoftDefenderATPOnboardingMacOs.py"
      fi
    fi
    mdatp definitions update || true
    # What is left after installing needs a person or an MDM: approving the system extensions, the network
    # filter and Full Disk Access. The control stays manual until mdatp health says healthy.
    case "$(mdatp health --field healthy 2>/dev/null | tail -n 1)" in
      true | 1) ;;
      *) needs_person "Defender is installed but not healthy ($(mdatp health --field health_issues 2>/dev/null | tail -n 1)): approve its system extensions and Full Disk Access in System Settings > Privacy & Security, or deploy Microsoft's MDM profiles" ;;
    esac
    ;;
  site)
    svc={{#if site.endpoint.service}}{{site.endpoint.service}}{{else}}''{{/if}}
    if ! job_running "$svc"; then
      [ -n "$art" ] || { echo "$svc is not running and the site names no [endpoint] artifact" >&2; exit 1; }
      install_pkg "$art"
      launchctl kickstart -k "system/$svc" 2>/dev/null || true
    fi
    ;;
  *) echo "no endpoint protection named for macOS: set [endpoint] product in the site" >&2; exit 1 ;;
esac
