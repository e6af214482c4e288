#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a while each, on top of the
# seeds in the code and in testdata/fuzz. Usage: scripts/fuzz.sh [DURATION]
# (default 5s; any -fuzztime value, such as 30s or 10000x). A failing input
# is written to <package>/testdata/fuzz/<Target>/ by go test: check it in
# with the fix, and it becomes a seed every plain `go test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:-5s}"
GO="${GO:-go}"

# "path/to/pkg_test.go:func FuzzName(f *testing.F) {" -> "./path/to/pkg FuzzName"
mapfile -t targets < <(
  grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
    sed -E 's|^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' |
    sort -u
)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz: $pkg $name for $fuzztime"
  if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
    failed+=("$pkg $name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed"
