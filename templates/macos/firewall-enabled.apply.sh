{{> macos/_lib.sh}}
set -e
fw=/usr/libexec/ApplicationFirewall/socketfilterfw
"$fw" --setglobalstate on
"$fw" --setstealthmode on
"$fw" --setallowsigned off
"$fw" --setallowsignedapp off
