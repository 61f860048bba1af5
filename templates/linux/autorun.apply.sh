{{> linux/_lib.sh}}
{{> linux/_desktop.sh}}
set -e
# GNOME's media handling: autorun-never true as a locked system default (the check runs this only where a
# desktop with GNOME's settings is installed).
{{#if (eq vars.pkg "apt")}}dconf_pkg=dconf-cli{{else}}dconf_pkg=dconf{{/if}}
command -v dconf >/dev/null 2>&1 || pkg_install "$dconf_pkg"
dconf_install 90-handover-autorun "# handover: ITP07 7.1 autorun.disabled
[org/gnome/desktop/media-handling]
autorun-never=true" "/org/gnome/desktop/media-handling/autorun-never"
echo "GNOME: locked autorun-never true in $DCONF_DB"
