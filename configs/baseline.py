"""The paper's baseline model: Stage 1 (D1, multi-annotator MLE) then Stage 2 (D2, fidelity).

``--config=configs/baseline.py``        the paper's settings (384 crops, 8 + 8 epochs).
``--config=configs/baseline.py:local``  the same pipeline sized for a laptop CPU (a few minutes).
``--config=configs/baseline.py:smoke``  a few steps on 32-px crops: the end-to-end tests.
"""

import ml_collections

from configs import base


def get_config(variant: str = "") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.stages = ("stage1", "stage2")
  if variant in ("local", "smoke"):
    apply_local(config)
  if variant == "smoke":
    apply_smoke(config)
  elif variant not in ("", "local"):
    raise ValueError(f"unknown variant {variant!r} of configs/baseline.py; use '', 'local' or "
                     "'smoke'.")
  return config


def apply_local(config: ml_collections.ConfigDict) -> None:
  """Shrinks sizes and step counts (not the method) so the whole job runs on a laptop CPU."""
  config.data.crop_size = 64
  config.data.embedded.short_side = 128
  config.stage1.num_pairs = 2_400
  config.stage1.num_epochs = 1
  config.stage2.num_pairs.embedded = 2_400
  config.stage2.num_epochs = 1
  # 150 steps per stage instead of ~300,000: a 10x learning rate lets the curves move.
  config.stage1.learning_rate = 1e-3
  config.stage2.learning_rate = 1e-3
  config.eval.every_steps = 50
  config.eval.num_pairs = 500
  config.log_every_steps = 10
  config.checkpoint_every_steps = 25


def apply_smoke(config: ml_collections.ConfigDict) -> None:
  """Seconds, not minutes: 32-px crops of 64-px photos, 4 pairs per batch, 4 steps per stage."""
  config.data.crop_size = 32
  config.data.embedded.short_side = 64
  config.data.embedded.distortions = ("gaussian_blur", "white_noise")
  config.stage1.batch_size = 4
  config.stage2.batch_size = 4
  config.stage1.num_pairs = 16
  config.stage2.num_pairs.embedded = 16
  config.eval.every_steps = 1000
  config.eval.num_pairs = 50
  config.log_every_steps = 2
  config.checkpoint_every_steps = 2
