#!/usr/bin/env bash
# Runs the kernel tests in headless Chromium (vitest.browser.config.ts) as two runs at once, each
# with its own browser: the files of one run share its GPU process, which compiles pipelines on one
# thread, so a second browser is what uses a second core. The files are split by their times in
# CI (2 cores, 2026-12-07): matmul.test.ts (121 s), conv.test.ts (46 s) and gradcheck.test.ts
# (13 s) in one run, the other files (about 165 s together) in the other. With matmul.test.ts
# alone beside all the others, those ran on alone long after it ended (128 s against 247 s in
# that CI run). File arguments run those files in one run instead.
set -uo pipefail
cd "$(dirname "$0")/.."

config=vitest.browser.config.ts
if [ $# -gt 0 ]; then
  exec npx vitest run -c "$config" "$@"
fi

first=(tests/matmul.test.ts tests/conv.test.ts tests/gradcheck.test.ts)
excludes=()
for f in "${first[@]}"; do excludes+=(--exclude "$f"); done
log=$(mktemp -t test-browser-first.XXXXXX)
trap 'rm -f "$log"' EXIT
# The first run's output is held and printed after the other run's, so the two do not interleave.
npx vitest run -c "$config" "${first[@]}" > "$log" 2>&1 &
firstPid=$!
npx vitest run -c "$config" "${excludes[@]}"
rest=$?
wait "$firstPid"
firstStatus=$?
echo
echo "test:browser: ${first[*]}, run beside the others:"
cat "$log"
if [ "$rest" -ne 0 ] || [ "$firstStatus" -ne 0 ]; then
  echo "test:browser: FAILED (other files: exit $rest; ${first[*]}: exit $firstStatus)" >&2
  exit 1
fi
