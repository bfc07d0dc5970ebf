"""Defaults shared by every experiment: the paper's hyper-parameters (method.md §1-§4).

Every number the training code uses lives here; variants import ``get_config`` and change a few
fields. ``configs/baseline.py`` = Stage 1 + Stage 2 (the paper's baseline model).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  # "train": run the configured stages (resuming from --workdir); "evaluate": restore the latest
  # checkpoint in --workdir and report metrics on the test split, no optimiser built.
  config.mode = "train"
  config.stages = ("stage1", "stage2")

  # --- Network f_w (method.md §1, paper Fig. 4) ---
  config.model = ml_collections.ConfigDict()
  config.model.channels = 48
  config.model.hidden = 128
  config.model.spp_levels = (1, 2, 3)
  config.model.gdn_beta_init = 1.0
  config.model.gdn_gamma_init = 0.1
  # The paper's 2^-10 (method.md discusses the possible 2e-10 typo; see biqa_jax/constraints.py).
  config.model.gdn_lower_bound = 2.0**-10
  # "float32" or "bfloat16" (compute dtype of convolutions and dense layers; params stay float32).
  config.model.dtype = "float32"

  # --- Data ---
  config.data = ml_collections.ConfigDict()
  # "embedded": the photos bundled with scikit-image, distorted on the fly (biqa_jax/data/embedded.py).
  config.data.source = "embedded"
  config.data.crop_size = 384  # random crops for training (method.md §2, §3)
  config.data.test_fraction = 0.2  # of the reference contents (reference-disjoint split)
  config.data.split_seed = 0
  # Embedded default data: shorter side of each bundled photo after resizing, distortion types
  # (names in biqa_jax.data.distortions.DISTORTIONS), all five levels of each.
  config.data.embedded = ml_collections.ConfigDict()
  config.data.embedded.short_side = 384
  config.data.embedded.distortions = ("gaussian_blur", "white_noise", "jpeg", "contrast_change")
  config.data.embedded.standin_noise = 3.0  # std of the noise in the stand-in MOS (MOS units)

  # --- Stage 1: pre-training on D1 with FR annotators (method.md §2) ---
  config.stage1 = ml_collections.ConfigDict()
  config.stage1.num_pairs = 600_000
  config.stage1.pair_types = ("same_type", "same_content", "cross_content", "with_pristine")
  config.stage1.annotators = ("level_order", "psnr", "ssim")
  config.stage1.reliability_init = 0.9  # initial alpha_j = beta_j
  config.stage1.learning_rate = 1e-4
  config.stage1.batch_size = 16
  config.stage1.num_epochs = 8

  # --- Stage 2: fine-tuning on D2 with the fidelity loss (method.md §3) ---
  config.stage2 = ml_collections.ConfigDict()
  # Pairs per database (sampled inside each database's training split).
  config.stage2.num_pairs = ml_collections.ConfigDict(
      dict(live=50_000, csiq=50_000, tid2013=100_000, kadid10k=200_000, embedded=400_000))
  config.stage2.learning_rate = 1e-4
  config.stage2.batch_size = 16
  config.stage2.num_epochs = 8
  config.stage2.fidelity_eps = 1e-8

  # --- Evaluation, logging, checkpoints ---
  config.eval = ml_collections.ConfigDict()
  config.eval.every_steps = 5_000
  config.eval.batch_size = 8
  config.eval.num_pairs = 5_000  # test pairs for the mean fidelity loss
  config.log_every_steps = 100
  config.checkpoint_every_steps = 2_000
  config.checkpoints_to_keep = 3
  return config
