{{> macos/_lib.sh}}
set -e
fw=socketfilterfw
"$fw" --setglobalstate on
"$fw" --setstealthmode on
"$fw" --setallowsigned off
"$fw" --setallowsignedapp off
