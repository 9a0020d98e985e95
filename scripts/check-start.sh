#!/usr/bin/env bash
# Runs the README's first command (given as $1) in the background, waits for the server's ready
# line, checks its HTTP endpoints, then stops it with SIGTERM and expects a clean exit.
set -uo pipefail
cmd="$1"
log=$(mktemp)
setsid bash -c "$cmd" >"$log" 2>&1 </dev/null &
pid=$!
cleanup() { kill -TERM -- "-$pid" 2>/dev/null; sleep 1; kill -KILL -- "-$pid" 2>/dev/null; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  grep -q 'lwm2m-server listening' "$log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q 'lwm2m-server listening' "$log"; then
  tail -30 "$log"; echo "start command: no ready line" >&2; exit 1
fi
ok=0
health=$(curl -fsS http://127.0.0.1:8080/health) && grep -q '"ok"' <<<"$health" || ok=1
clients=$(curl -fsS http://127.0.0.1:8080/api/clients) && grep -q '^\[' <<<"$clients" || ok=1
# The server process is the node child of the pnpm script: SIGTERM the whole group.
kill -TERM -- "-$pid"
for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then echo "start command: still running 10 s after SIGTERM" >&2; ok=1; fi
if [ "$ok" = 0 ]; then echo "start command ok"; else tail -30 "$log"; echo "start command failed" >&2; fi
exit "$ok"
