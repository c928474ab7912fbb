#!/bin/sh
# The main job's image-serving step: starts `mlc serve` on the image classifier `mlc train` wrote
# under $1 (a local /opt/ml tree), waits for GET /ping, sends real requests with curl — a PNG and
# a JPEG from the validation set (one image per request, as SageMaker's image classifier takes
# them), JSON and JSON Lines out, one error case — prints each response with the class it names,
# then stops the server with SIGTERM and checks it exited 0.
set -eu
root=${1:?usage: scripts/serve-image-demo.sh OPT_ML_ROOT [PORT]}
port=${2:-8081}
here=$(cd "$(dirname "$0")/.." && pwd)
mlc="$here/.build/release/mlc"
url="http://127.0.0.1:$port"
classes="circle square triangle plus ring star"

"$mlc" serve --algorithm image-classification --root "$root" --port "$port" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/ping" || true)" = 200 ]; then break; fi
  sleep 0.1
done

show() { printf '\n$ %s\n' "$1"; }
# The index of the largest probability in a JSON array, and its class name.
argmax() { tr -d '[] ' | tr ',' '\n' | awk -v names="$classes" 'BEGIN { split(names, n, " ") } { if (NR == 1 || $1 > best) { best = $1; i = NR } } END { printf "  -> %s (%.3f)\n", n[i], best }'; }

png=$(grep -m1 '\.png' "$here/data/shapes/validation.lst" | cut -f3)
jpg=$(grep -m1 '\.jpg' "$here/data/shapes/validation.lst" | cut -f3)
show "curl -H 'Content-Type: image/png' --data-binary @data/shapes/validation/$png $url/invocations"
body=$(curl -s -H 'Content-Type: image/png' --data-binary "@$here/data/shapes/validation/$png" "$url/invocations")
echo "$body"; echo "$body" | argmax
show "curl -H 'Content-Type: application/x-image' -H 'Accept: application/jsonlines' --data-binary @data/shapes/validation/$jpg $url/invocations"
curl -s -H 'Content-Type: application/x-image' -H 'Accept: application/jsonlines' --data-binary "@$here/data/shapes/validation/$jpg" "$url/invocations"
show "… a CSV body: 415 and why"
echo "1,2,3" | curl -s -w ' (HTTP %{http_code})' -H 'Content-Type: text/csv' --data-binary @- "$url/invocations"; echo

kill -TERM $server
trap - EXIT INT TERM
status=0
wait $server || status=$?
printf '\nServer stopped by SIGTERM, exit status %s\n' "$status"
exit "$status"
