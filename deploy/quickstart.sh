#!/usr/bin/env bash
# Installs what is missing, builds Sluice, starts two demo web servers, and runs Sluice in
# the foreground in front of them (deploy/examples/quickstart.cfg). Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh python3 curl
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target sluice sluicectl

build/bin/sluice -c -f deploy/examples/http-routing.cfg >/dev/null
config=deploy/examples/quickstart.cfg
build/bin/sluice -c -f "$config"

demo=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$demo"
}
trap cleanup EXIT
for n in 1 2; do
  mkdir -p "$demo/$n"
  echo "hello from demo backend $n" > "$demo/$n/index.html"
  python3 -m http.server "900$n" --bind 127.0.0.1 --directory "$demo/$n" >/dev/null 2>&1 &
  pids+=($!)
done

cat <<MSG

Sluice is starting on 127.0.0.1:8080 in front of two demo web servers. Try:
  curl -s http://127.0.0.1:8080/        (alternates between the two backends)
  curl -s http://127.0.0.1:8080/two/    (always the second, prefix removed)
  curl -si http://127.0.0.1:8080/admin  (403, denied by a rule)
  curl -s http://127.0.0.1:8405/metrics (Prometheus metrics)
  build/bin/sluicectl -s /tmp/sluice-quickstart.sock show servers
  build/bin/sluicectl -s /tmp/sluice-quickstart.sock set server demo/demo1 state drain
  kill -HUP <master pid>                (reload without dropping a connection)
Ctrl-C stops Sluice and the demo servers.

MSG
build/bin/sluice -f "$config"
