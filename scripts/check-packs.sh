#!/usr/bin/env bash
# Packs every published workspace package and installs the tarballs together in an empty
# project, then imports each one: what a user gets from npm must install and load.
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm build >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pnpm -r --filter './packages/*' --filter './apps/*' pack --pack-destination "$tmp/packs" >/dev/null
mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$tmp"/packs/*.tgz
for tgz in "$tmp"/packs/*.tgz; do
  name=$(tar xzOf "$tgz" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0)).name')
  node --input-type=module -e "await import('$name'); console.log('ok $name')"
done
