#!/bin/sh
# The main job's serving step: starts `mlc serve` on the model `mlc train` wrote under $1 (a local
# /opt/ml tree), waits for GET /ping, sends a few real requests with curl — CSV, JSON and JSON
# Lines in, JSON, JSON Lines and CSV out, one error case — prints each response, then stops the
# server with SIGTERM (SageMaker's stop) and checks it exited 0.
set -eu
root=${1:?usage: scripts/serve-demo.sh OPT_ML_ROOT [PORT]}
port=${2:-8080}
here=$(cd "$(dirname "$0")/.." && pwd)
mlc="$here/.build/release/mlc"
url="http://127.0.0.1:$port"

"$mlc" serve --algorithm linear-learner --root "$root" --port "$port" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/ping" || true)" = 200 ]; then break; fi
  sleep 0.1
done

# Two validation rows of the breast-cancer set, without their label column.
rows=$(head -2 "$here/data/breast-cancer/validation.csv" | cut -d, -f2-)
first=$(echo "$rows" | head -1)
show() { printf '\n$ %s\n' "$1"; }

show "curl $url/execution-parameters"
curl -s "$url/execution-parameters"; echo
show "curl -H 'Content-Type: text/csv' --data-binary <2 rows> $url/invocations"
printf '%s\n' "$rows" | curl -s -H 'Content-Type: text/csv' --data-binary @- "$url/invocations"; echo
show "… same rows, Accept: application/jsonlines"
printf '%s\n' "$rows" | curl -s -H 'Content-Type: text/csv' -H 'Accept: application/jsonlines' --data-binary @- "$url/invocations"
show "… one row as JSON instances, Accept: text/csv"
curl -s -H 'Content-Type: application/json' -H 'Accept: text/csv' --data-binary "{\"instances\": [{\"features\": [$first]}]}" "$url/invocations"
show "… a row one feature short: 400 and why"
echo "$first" | cut -d, -f2- | curl -s -w ' (HTTP %{http_code})' -H 'Content-Type: text/csv' --data-binary @- "$url/invocations"; echo

kill -TERM $server
trap - EXIT INT TERM
status=0
wait $server || status=$?
printf '\nServer stopped by SIGTERM, exit status %s\n' "$status"
exit "$status"
