#!/usr/bin/env bash
# Usage: launch/tpu_vm.sh TPU_NAME ZONE WORKDIR [extra --config.* flags]
# Copies this checkout to a Cloud TPU VM (single host), installs biqa_jax with TPU JAX and runs
# the baseline config there. WORKDIR is a path on the VM (or a mounted bucket); re-running the
# command resumes from its latest checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
tpu=${1:?usage: launch/tpu_vm.sh TPU_NAME ZONE WORKDIR [flags]}
zone=${2:?zone}
workdir=${3:?workdir}
shift 3
gcloud compute tpus tpu-vm scp --zone="$zone" --recurse \
  biqa_jax configs setup.py README.md "$tpu":~/biqa_jax_src/
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --command "
  set -e
  cd ~/biqa_jax_src
  [ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -e . 'jax[tpu]'; }
  .venv/bin/python -m biqa_jax.main --config=configs/baseline.py --workdir='$workdir' $*
"
