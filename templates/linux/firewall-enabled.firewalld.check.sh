{{> linux/_lib.sh}}
# ITP07 7.1.5: firewalld running, and its default zone denies what it does not allow. Fedora Workstation's
# default zone opens 1025-65535; handover uses the `public` zone (target default = reject).
command -v firewall-cmd >/dev/null 2>&1 || result false "firewalld is not installed"
state=$(firewall-cmd --state 2>&1 || true)
obs state "$state"
[ "$state" = running ] || problem "firewalld is not running ($state)"
svc_enabled firewalld || problem "firewalld is not enabled at boot"
zone=$(firewall-cmd --get-default-zone 2>/dev/null || echo unknown)
target=$(firewall-cmd --permanent --zone="$zone" --get-target 2>/dev/null || echo unknown)
obs default_zone "$zone"
obs target "$target"
case "$target" in default | DROP | REJECT | '%%REJECT%%') ;; *) problem "default zone $zone accepts inbound traffic (target $target)" ;; esac
finish "firewalld running, default zone $zone denies inbound by default"
