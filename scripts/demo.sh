#!/usr/bin/env bash
# The main job on the bundled default: build pyz3 and generate Python values from type expressions.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh
cargo build --release --quiet --bin pyz3
pyz3=target/release/pyz3
show() {
  echo
  echo "\$ pyz3 sample '$1' -n $2 --seed 1 --imports"
  "$pyz3" sample "$1" -n "$2" --seed 1 --imports
}
show 'int' 8
show 'str' 6
show 'list[dict[str, int]]' 4
show 'collections.Counter[str] | collections.deque[int]' 4
show 'decimal.Decimal' 6
show 'datetime.datetime' 4
show 'numpy.typing.NDArray[numpy.float32]' 4
echo
echo "\$ pyz3 sample 'list[dict[str, list[int | float | str]]]' -n 20000 --stats"
"$pyz3" sample 'list[dict[str, list[int | float | str]]]' -n 20000 --stats
