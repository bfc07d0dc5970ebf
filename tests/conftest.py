"""Shared test set-up: the repo root on sys.path (for ``configs``) and the smoke config."""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)


def smoke_config(stage1_steps: int = 4, stage2_steps: int = 4):
  """``configs/baseline.py:smoke`` with the given number of steps per stage."""
  from configs import baseline

  config = baseline.get_config("smoke")
  config.stage1.num_pairs = config.stage1.batch_size * stage1_steps
  config.stage2.num_pairs.embedded = config.stage2.batch_size * stage2_steps
  return config


def smoke_flags(stage1_steps: int = 4, stage2_steps: int = 4) -> list[str]:
  """The same config as :func:`smoke_config`, as ``biqa_jax.main`` command-line flags."""
  return ["--config=configs/baseline.py:smoke",
          f"--config.stage1.num_pairs={4 * stage1_steps}",
          f"--config.stage2.num_pairs.embedded={4 * stage2_steps}"]
