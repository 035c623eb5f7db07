#!/usr/bin/env bash
# The whole suite: typecheck, unit tests beside the code, store contract tests,
# integration tests with real peers on loopback. Exit code is non-zero when any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

bash scripts/test-deps.sh
[ -d node_modules ] || npm ci
npx tsc --noEmit -p .

files=(src/**/*.test.ts test/**/*.test.ts)
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=180000 "${files[@]}"
