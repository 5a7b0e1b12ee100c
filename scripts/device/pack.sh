#!/usr/bin/env bash
# Packs what the GPU machine lacks into .devcarry/ (ignored by git, carried by the `device` tool): this machine's Node
# binary (xz), the four Node-API headers, and the npm packages psfid needs at run time (plus pngjs for the tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.devcarry/' .git/info/exclude 2>/dev/null || echo '/.devcarry/' >> .git/info/exclude
rm -rf .devcarry && mkdir -p .devcarry
inc=$(dirname "$(command -v node)")/../include/node; [ -f "$inc/node_api.h" ] || inc=/usr/include/node
cp "$inc"/{node_api.h,js_native_api.h,node_api_types.h,js_native_api_types.h} .devcarry/
xz -T0 -6 -c "$(command -v node)" > .devcarry/node.xz
{ npm ls --omit=dev --all --parseable 2>/dev/null; echo "$PWD/node_modules/pngjs"; } | sed "s|^$PWD/||" | grep '^node_modules/' | sort -u > .devcarry/modules.txt
tar -cJf .devcarry/mods.tar.xz -T .devcarry/modules.txt
du -sh .devcarry
