"""From a config to the arrays the training loop consumes: image set, splits, D1/D2 pairs,
and deterministic batches of random crops.

Batches are a pure function of ``(seed, stage, step)``: the epoch's pair order comes from
``default_rng([seed, stage_id, epoch])`` and the crop offsets from
``default_rng([seed, stage_id, 1_000_003, step])`` (the extra entry keeps the two streams apart
when ``step == epoch``). The data iterator's position is therefore just the step,
which the checkpoint stores, and a resumed run sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np

from biqa_jax.data import annotators, embedded, pairs, splits
from biqa_jax.data.image_set import ImageSet

STAGE_IDS = {"stage1": 1, "stage2": 2}


@dataclasses.dataclass(frozen=True)
class Datasets:
  image_set: ImageSet
  train_indices: np.ndarray  # [N_train] into image_set
  test_indices: np.ndarray   # [N_test]
  d1: pairs.Pairs | None     # Stage-1 pairs (labels [P, J] uint8)
  d2: pairs.Pairs | None     # Stage-2 pairs (labels [P] float32)
  test_pairs: pairs.Pairs    # pairs inside the test split, for the mean fidelity loss


def load_datasets(config: ml_collections.ConfigDict) -> Datasets:
  """Loads the configured image source and samples the pairs every configured stage needs."""
  if config.data.source != "embedded":
    raise ValueError(f"config.data.source={config.data.source!r} is not a known source; "
                     "the available one is 'embedded' (scikit-image's bundled photos).")
  emb = config.data.embedded
  image_set = embedded.load_embedded(short_side=emb.short_side,
                                     distortion_types=tuple(emb.distortions),
                                     standin_noise=emb.standin_noise, seed=config.seed)
  database = "embedded"
  train_idx, test_idx = splits.reference_disjoint_split(
      image_set.content_id, config.data.test_fraction, config.data.split_seed)
  d1 = d2 = None
  if "stage1" in config.stages:
    scores = annotators.annotator_scores(image_set, tuple(config.stage1.annotators))
    d1 = pairs.sample_d1_pairs(image_set, train_idx, scores, config.stage1.num_pairs,
                               seed=config.seed + 1, pair_types=tuple(config.stage1.pair_types))
  if "stage2" in config.stages:
    d2 = pairs.sample_d2_pairs(image_set, train_idx, config.stage2.num_pairs[database],
                               seed=config.seed + 2)
  test_pairs = pairs.sample_d2_pairs(image_set, test_idx, config.eval.num_pairs, seed=config.seed + 3)
  return Datasets(image_set, train_idx, test_idx, d1, d2, test_pairs)


def check_crop_size(image_set: ImageSet, indices: np.ndarray, crop_size: int) -> None:
  small = [i for i in indices if min(image_set.images[i].shape[:2]) < crop_size]
  if small:
    i = small[0]
    raise ValueError(
        f"{len(small)} training image(s) are smaller than config.data.crop_size={crop_size} "
        f"(e.g. {image_set.names[i]}: {image_set.images[i].shape[0]}x{image_set.images[i].shape[1]}"
        " px); lower crop_size or use larger images.")


def steps_per_epoch(num_pairs: int, batch_size: int) -> int:
  steps = num_pairs // batch_size
  if steps == 0:
    raise ValueError(f"{num_pairs} pairs make no full batch of {batch_size}; raise num_pairs.")
  return steps


def pair_batch(stage: str, seed: int, step: int, stage_pairs: pairs.Pairs,
               batch_size: int) -> np.ndarray:
  """Indices ``[B]`` into ``stage_pairs`` of batch ``step`` (epoch-wise shuffling, drop remainder)."""
  per_epoch = steps_per_epoch(len(stage_pairs), batch_size)
  epoch, position = divmod(step, per_epoch)
  order = np.random.default_rng([seed, STAGE_IDS[stage], epoch]).permutation(len(stage_pairs))
  return order[position * batch_size:(position + 1) * batch_size]


def random_crops(images: list[np.ndarray], indices: np.ndarray, size: int,
                 rng: np.random.Generator) -> np.ndarray:
  """``[len(indices), size, size, 3]`` uint8: one uniformly placed crop of each listed image."""
  out = np.empty((len(indices), size, size, 3), np.uint8)
  for k, i in enumerate(indices):
    image = images[i]
    h, w = image.shape[:2]
    r = rng.integers(0, h - size + 1)
    c = rng.integers(0, w - size + 1)
    out[k] = image[r:r + size, c:c + size]
  return out


def training_batch(stage: str, seed: int, step: int, datasets: Datasets, batch_size: int,
                   crop_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """``(crops_x [B,S,S,3] uint8, crops_y [B,S,S,3] uint8, labels)`` of training step ``step``."""
  stage_pairs = datasets.d1 if stage == "stage1" else datasets.d2
  which = pair_batch(stage, seed, step, stage_pairs, batch_size)
  rng = np.random.default_rng([seed, STAGE_IDS[stage], 1_000_003, step])
  images = datasets.image_set.images
  return (random_crops(images, stage_pairs.x[which], crop_size, rng),
          random_crops(images, stage_pairs.y[which], crop_size, rng),
          stage_pairs.labels[which])
