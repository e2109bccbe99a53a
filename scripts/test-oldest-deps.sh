#!/usr/bin/env bash
# Run the test suite against the OLDEST openai the dependency range allows (pyproject.toml:
# "openai>=3.54,<4" -> openai==3.54.0), in a virtual environment of its own, so that a
# change that needs a newer SDK is caught. The README's test command covers the newest.
#
#   scripts/test-oldest-deps.sh                 # the whole suite
#   scripts/test-oldest-deps.sh -x -q tests/test_index.py    # pytest arguments pass through
#   VENV=/tmp/lt-oldest scripts/test-oldest-deps.sh          # where the venv goes
#                                                            # (default: .venv-oldest)
set -euo pipefail
cd "$(dirname "$0")/.."

floor=$(sed -n 's/^ *"openai>=\([0-9][0-9.]*\)[,"].*/\1/p' pyproject.toml | head -n 1)
if [ -z "$floor" ]; then
    echo "test-oldest-deps: no \"openai>=X\" bound found in pyproject.toml" >&2
    exit 2
fi
case "$floor" in
    *.*.*) oldest="$floor" ;;
    *) oldest="$floor.0" ;;
esac

venv="${VENV:-.venv-oldest}"
python3 -m venv "$venv"
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[dev]' "openai==$oldest"
echo "== $(python -c 'import openai; print("openai", openai.__version__)')"
python -m pytest "$@"
