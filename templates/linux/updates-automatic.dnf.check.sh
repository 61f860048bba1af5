{{> linux/_lib.sh}}
# ITP07 7.1.3: dnf-automatic (dnf5-plugin-automatic on Fedora 41+) applying security updates on its timer.
pkg={{vars.dnf_automatic_package}}
conf={{vars.dnf_automatic_conf}}
timer={{vars.dnf_automatic_timer}}
pkg_installed "$pkg" || problem "$pkg is not installed"
apply=$(sed -n 's/^[[:space:]]*apply_updates[[:space:]]*=[[:space:]]*//p' "$conf" 2>/dev/null | tail -n 1)
kind=$(sed -n 's/^[[:space:]]*upgrade_type[[:space:]]*=[[:space:]]*//p' "$conf" 2>/dev/null | tail -n 1)
obs apply_updates "${apply:-unset}"
obs upgrade_type "${kind:-unset}"
case "$apply" in yes | true | 1) ;; *) problem "apply_updates is ${apply:-unset} in $conf" ;; esac
case "$kind" in security | default) ;; *) problem "upgrade_type is ${kind:-unset} in $conf" ;; esac
if svc_enabled "$timer"; then obs "$timer" enabled; else problem "$timer is not enabled"; fi
finish "$pkg installs security updates on its timer"
