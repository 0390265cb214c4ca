#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Licence: LICENSE is the MIT text, and every source, header, script and
# build file of the project says so in its first lines (an SPDX identifier
# in the first three, after a #! line where there is one).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -q '^MIT License$' LICENSE
mapfile -t files < <(git ls-files '*.c' '*.h' '*.sh' '*.py' '*.cmake' '*.in' \
  '*CMakeLists.txt' '*Makefile' .ci/run | grep -v '^fuzz/corpus/')
bad=0
for f in "${files[@]}"; do
  if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
    echo "licence: $f has no SPDX-License-Identifier line" >&2
    bad=$((bad + 1))
  fi
done
[ "$bad" -eq 0 ] || exit 1
echo "licence: LICENSE is MIT; all ${#files[@]} files carry its SPDX identifier"
