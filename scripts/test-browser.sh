#!/usr/bin/env bash
# Runs the kernel tests in headless Chromium (vitest.browser.config.ts) as two runs at once, each
# with its own browser: the files of one run share its GPU process, which compiles pipelines on one
# thread, so a second browser is what uses a second core. matmul.test.ts, the slowest file, runs in
# one and the other files in the other: on 2 cores, 146 and 139 s side by side against 222 s in one
# run. File arguments run those files in one run instead.
set -uo pipefail
cd "$(dirname "$0")/.."

config=vitest.browser.config.ts
if [ $# -gt 0 ]; then
  exec npx vitest run -c "$config" "$@"
fi

log=$(mktemp -t test-browser-matmul.XXXXXX)
trap 'rm -f "$log"' EXIT
# The matmul run's output is held and printed after the other run's, so the two do not interleave.
npx vitest run -c "$config" tests/matmul.test.ts > "$log" 2>&1 &
matmul=$!
npx vitest run -c "$config" --exclude tests/matmul.test.ts
rest=$?
wait "$matmul"
first=$?
echo
echo "test:browser: tests/matmul.test.ts, run beside the others:"
cat "$log"
if [ "$rest" -ne 0 ] || [ "$first" -ne 0 ]; then
  echo "test:browser: FAILED (other files: exit $rest; matmul.test.ts: exit $first)" >&2
  exit 1
fi
