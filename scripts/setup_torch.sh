#!/usr/bin/env bash
# Makes the PyTorch reference environment that the PyTorch cross-checks (test/) and `npm run bench` use: a venv
# with the CPU build of PyTorch 2.13.0 that this machine's pip finds on its own disk (--no-index: no download),
# plus NumPy and SciPy (taken from the system Python when it has them). Reuses the venv when it already works.
# Prints the environment's python path on stdout; exits 3 when pip finds no wheel.
#   venv: $V1X_TORCH_VENV, else ${XDG_CACHE_HOME:-~/.cache}/v1x-torch-reference (where the tests look for it)
# Adapted from the development machine's setup_torch_reference.sh (README, "Test fixtures").
set -euo pipefail
venv="${V1X_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/v1x-torch-reference}"
works() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch, numpy, scipy" 2>/dev/null; }
if ! works; then
  [ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv" >&2
  "$venv/bin/python" -c "import torch" 2>/dev/null \
    || "$venv/bin/pip" install -q --no-index --no-deps torch==2.13.0 >&2 \
    || { echo "no PyTorch 2.13.0 wheel that pip can find without a network on this machine" >&2; exit 3; }
  "$venv/bin/python" -c "import numpy, scipy" 2>/dev/null \
    || "$venv/bin/pip" install -q --no-index numpy scipy >&2 \
    || { echo "no NumPy / SciPy wheel that pip can find without a network on this machine" >&2; exit 3; }
  works || { echo "$venv/bin/python cannot import torch, numpy and scipy" >&2; exit 3; }
fi
echo "$venv/bin/python"
