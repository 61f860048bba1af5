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
    # Onboarded means an organisation id; a Mac installed earlier but never onboarded is onboarded now. The
    # onboarding script runs under umask 022, not the scripts' 077 (it writes Defender's own files).
    onboarding=''
    if [ -z "$(mdatp health --field org_id 2>/dev/null | tail -n 1 | tr -d '"')" ]; then
      if [ -d "$art" ] && [ -f "$art/MicrosoftDefenderATPOnboardingMacOs.sh" ]; then
        (umask 022 && /bin/bash "$art/MicrosoftDefenderATPOnboardingMacOs.sh")
      elif [ -d "$art" ] && [ -f "$art/MicrosoftDefenderATPOnboardingMacOs.py" ]; then
        # /usr/bin/python3 is only a stub until the Command Line Tools are installed.
        xcode-select -p >/dev/null 2>&1 || { echo "the .py onboarding script needs python3 (Command Line Tools); use Microsoft's .sh onboarding script" >&2; exit 1; }
        (umask 022 && /usr/bin/python3 "$art/MicrosoftDefenderATPOnboardingMacOs.py")
      else
        onboarding="not onboarded: the endpoint artifact ${art:-(none)} is a plain .pkg with no onboarding script; give a directory artifact with wdav.pkg and Microsoft's MicrosoftDefenderATPOnboardingMacOs.sh, or onboard through an MDM. "
        echo "$onboarding" >&2
      fi
    fi
    mdatp definitions update || true
    # Tamper protection in block mode, as the check requires: Microsoft's documented local setting ("Protect
    # macOS security settings with tamper protection": mdatp config tamper-protection enforcement-level
    # --value block). A tenant or MDM policy that owns it refuses the change; the check then says so.
    case "$(mdatp health --field tamper_protection 2>/dev/null | tail -n 1 | tr -d '"' | sed 's/ \[managed\]$//')" in
      block) ;;
      *) mdatp config tamper-protection enforcement-level --value block || echo "mdatp refused to set tamper protection to block (a tenant or MDM policy may own it)" >&2 ;;
    esac
    # What is left after installing needs a person or an MDM: approving the system extensions, the network
    # filter and Full Disk Access, in the pane each release has them in (macOS 13/14: Privacy & Security;
    # 15 and later: General > Login Items & Extensions, as Fortinet's 7.2.10 macOS release notes also show).
    # The control stays manual until mdatp health says healthy.
    case "$(os_major)" in
      13 | 14) panes="approve its system extensions and network filter in System Settings > Privacy & Security, and Full Disk Access in Privacy & Security > Full Disk Access" ;;
      *) panes="approve its endpoint security and network extensions in System Settings > General > Login Items & Extensions, and Full Disk Access in Privacy & Security > Full Disk Access" ;;
    esac
    case "$(mdatp health --field healthy 2>/dev/null | tail -n 1)" in
      true | 1) ;;
      *) needs_person "${onboarding}Defender is installed but not healthy ($(mdatp health --field health_issues 2>/dev/null | tail -n 1)): $panes, or deploy Microsoft's MDM profiles" ;;
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
