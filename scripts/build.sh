#!/usr/bin/env bash
# Compiles src/ to plain JavaScript (default: dist/) and copies the dashboard's
# static files beside it. `npm start` runs the result: a server under tsx keeps
# its loader thread and the transformed sources in memory for the life of the
# process (about 45 MiB here, README "Performance").
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
rm -rf "$out"
npx tsc -p tsconfig.build.json --outDir "$out"
mkdir -p "$out/dashboard/assets"
cp src/dashboard/assets/* "$out/dashboard/assets/"
