{{> linux/_lib.sh}}
set -e
{{#if site.device_management.service}}
svc={{site.device_management.service}}
if ! systemctl cat "$svc" >/dev/null 2>&1; then
  [ -n "${HANDOVER_ARTIFACT_DEVICE_MANAGEMENT:-}" ] || { echo "$svc is not installed and the site names no [device_management] artifact" >&2; exit 1; }
  case "$HANDOVER_ARTIFACT_DEVICE_MANAGEMENT" in
    *.deb) {{#if (eq vars.pkg "apt")}}apt-get -q -y install "$HANDOVER_ARTIFACT_DEVICE_MANAGEMENT" </dev/null{{else}}echo "a .deb cannot be installed here" >&2; exit 1{{/if}} ;;
    *.rpm) {{#if (eq vars.pkg "apt")}}echo "an .rpm cannot be installed here" >&2; exit 1{{else}}dnf -q -y install "$HANDOVER_ARTIFACT_DEVICE_MANAGEMENT" </dev/null{{/if}} ;;
    *) "$HANDOVER_ARTIFACT_DEVICE_MANAGEMENT" ;;
  esac
fi
systemctl enable --now "$svc"
{{else}}
echo "no device-management agent named in the site" >&2
exit 1
{{/if}}
