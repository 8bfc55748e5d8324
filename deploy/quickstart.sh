#!/usr/bin/env bash
# Installs what is missing, builds Sluice, and runs it on deploy/examples/quickstart.cfg.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target sluice sluicectl

config=deploy/examples/quickstart.cfg
echo "== sluice -c -f $config"
build/bin/sluice -c -f "$config"
echo "== compiled configuration (sluice --dump-config), first lines:"
build/bin/sluice -f "$config" --dump-config | head -n 40
cat <<MSG

This example is an HTTP configuration, and this version of Sluice serves only
mode tcp traffic (mode http frontends are refused at start), so nothing is
started here; see README.md for the status of each capability.
MSG
