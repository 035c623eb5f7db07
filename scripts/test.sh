#!/usr/bin/env bash
# The whole suite: typecheck, unit tests beside the code, store contract tests,
# integration tests with real peers on loopback. Exit code is non-zero when any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

bash scripts/test-deps.sh
[ -d node_modules ] || npm ci
npx tsc --noEmit -p .

# The PostgreSQL tests (test/helpers/postgres.ts) need database "test" on the machine's server
# (started before sessions and CI). Left alone when the server is down: under CI=true those tests then fail.
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null &&
   [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  createdb -h 127.0.0.1 -U postgres test
fi

files=(src/**/*.test.ts test/**/*.test.ts scripts/**/*.test.ts)
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=420000 "${files[@]}"
