{{> linux/_lib.sh}}
set -e
{{#if (eq site.endpoint.product "defender")}}
# Installing and onboarding Defender needs the tenant's onboarding package; handover refreshes definitions.
command -v mdatp >/dev/null 2>&1 || { echo "mdatp is not installed: onboard the device with the tenant's Defender package" >&2; exit 1; }
mdatp config real-time-protection --value enabled
mdatp definitions update
{{else if (eq site.endpoint.product "site")}}
svc={{site.endpoint.service}}
if [ -n "${HANDOVER_ARTIFACT_ENDPOINT:-}" ] && ! systemctl cat "$svc" >/dev/null 2>&1; then
  case "$HANDOVER_ARTIFACT_ENDPOINT" in
    *.deb) {{#if (eq vars.pkg "apt")}}apt-get -q -y install "$HANDOVER_ARTIFACT_ENDPOINT" </dev/null{{else}}echo "a .deb cannot be installed here" >&2; exit 1{{/if}} ;;
    *.rpm) {{#if (eq vars.pkg "apt")}}echo "an .rpm cannot be installed here" >&2; exit 1{{else}}dnf -q -y install "$HANDOVER_ARTIFACT_ENDPOINT" </dev/null{{/if}} ;;
    *) "$HANDOVER_ARTIFACT_ENDPOINT" ;;
  esac
fi
systemctl enable --now "$svc"
{{else}}
set -- {{#each vars.clamav_packages}}{{this}} {{/each}}
missing=''
for p in "$@"; do pkg_installed "$p" || missing="$missing $p"; done
# shellcheck disable=SC2086 # one word per package name
[ -z "$missing" ] || pkg_install $missing
set -- {{#each vars.clamav_services}}{{this}} {{/each}}
systemctl enable "$@"
# freshclam first: the scanner daemon does not start without definitions.
systemctl restart {{vars.freshclam_service}} || echo "freshclam did not start" >&2
for s in "$@"; do
  systemctl start "$s" || echo "$s did not start (it needs definitions: is the network or a definitions mirror reachable?)" >&2
done
if grep -qs '^CONFIG_FANOTIFY_ACCESS_PERMISSIONS=y' "/boot/config-$(uname -r)" && ! pgrep -x clamonacc >/dev/null 2>&1; then
  conf={{vars.clamd_conf}}
  grep -q '^OnAccessIncludePath' "$conf" || printf '%s\n' 'OnAccessIncludePath /home' 'OnAccessExcludeUname clamav' 'OnAccessPrevention no' >>"$conf"
  systemctl restart "$@" || true
  systemctl enable --now clamav-clamonacc.service || echo "clamonacc could not be started" >&2
fi
{{/if}}
