#!/usr/bin/env bash
# Fails when a C++ source file of the project is not formatted as .clang-format says.
# Usage: check-format.sh CLANG_FORMAT
set -euo pipefail
cd "$(dirname "$0")/../.."
clang_format=${1:-clang-format}
mapfile -t files < <(find master worker health stats proto tests -type f \( -name '*.cc' -o -name '*.h' \) \
                       -not -path 'tests/configs/*' -not -path '*/corpus/*' 2>/dev/null | sort)
"$clang_format" --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files checked"
