#!/usr/bin/env bash
# Usage: launch/gpu.sh WORKDIR [extra --config.* flags]
# Installs biqa_jax with CUDA JAX into ./.venv (once) and runs the baseline config on the GPU.
# Re-running the same command resumes from the latest checkpoint in WORKDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
workdir=${1:?usage: launch/gpu.sh WORKDIR [flags]}
shift
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -e ".[gpu]"
fi
.venv/bin/python -c "import jax; d = jax.devices(); print(d); assert d[0].platform == 'gpu', 'no GPU visible to JAX'"
exec .venv/bin/python -m biqa_jax.main --config=configs/baseline.py --workdir="$workdir" "$@"
