"""The unlabelled pool S of method.md §5 as one ``.npz`` file: images, metadata and model scores.

The gMAD competition (:mod:`biqa_jax.gmad`) reads only this format. A :class:`Pool` holds, one
row per image,

  scores:          [N, M] float32, every model's raw score in its own units (NaN = not computed)
  model_names:     M strings
  directions:      [M] int8, +1 if the model's higher score means better quality, -1 if lower
  image_id:        [N] strings, unique, e.g. ``"astronaut/jpeg/3"``
  path:            [N] strings, the image file ('' if none); relative paths are relative to the
                   folder of the ``.npz`` and :func:`load_pool` returns them resolved
  content_id:      [N] int32, the reference content (diversity limit "per content")
  distortion_type: [N] int32, index into ``distortion_names`` (diversity limits "per type")
  level:           [N] int32, distortion level (1..5 in KADID)
  mos:             [N] float32, subjective (or stand-in) mean opinion score, NaN if unknown
  mos_std:         [N] float32, its standard deviation, NaN if unknown
  distortion_names: names of the distortion types

:func:`embedded_pool` builds a small pool from the embedded default data (biqa_jax.data.embedded),
with the Stage-1 annotators (biqa_jax.data.annotators) as the models and the stand-in MOS kept,
so the common-scale mapping and oracle preferences of :mod:`biqa_jax.gmad` have something to fit.

  python -m biqa_jax.data.pool OUT_DIR      # writes OUT_DIR/pool.npz and OUT_DIR/images/*.png
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

_ARRAYS = {"scores": np.float32, "directions": np.int8, "content_id": np.int32,
           "distortion_type": np.int32, "level": np.int32, "mos": np.float32,
           "mos_std": np.float32}
_STRINGS = ("model_names", "image_id", "path", "distortion_names")
_PER_IMAGE = ("image_id", "path", "content_id", "distortion_type", "level", "mos", "mos_std")


@dataclasses.dataclass(frozen=True)
class Pool:
  """Pool images with metadata and model scores; fields as in the module docstring."""

  scores: np.ndarray
  model_names: tuple[str, ...]
  directions: np.ndarray
  image_id: np.ndarray
  path: np.ndarray
  content_id: np.ndarray
  distortion_type: np.ndarray
  level: np.ndarray
  mos: np.ndarray
  mos_std: np.ndarray
  distortion_names: tuple[str, ...] = ()

  def __post_init__(self):
    for name, dtype in _ARRAYS.items():
      object.__setattr__(self, name, np.asarray(getattr(self, name), dtype))
    for name in ("image_id", "path"):
      object.__setattr__(self, name, np.asarray(getattr(self, name), str).reshape(-1))
    for name in ("model_names", "distortion_names"):
      object.__setattr__(self, name, tuple(str(s) for s in getattr(self, name)))
    if self.scores.ndim != 2:
      raise ValueError(f"Pool.scores must be [N images, M models], got shape {self.scores.shape}.")
    n, m = self.scores.shape
    if len(self.model_names) != m or self.directions.shape != (m,):
      raise ValueError(f"Pool has {m} score columns but {len(self.model_names)} model names and "
                       f"{self.directions.size} directions; give one of each per model.")
    if not np.all(np.isin(self.directions, (-1, 1))):
      raise ValueError(f"Pool.directions must be +1 (higher score = better) or -1 (lower = "
                       f"better) per model, got {self.directions.tolist()}.")
    for name in _PER_IMAGE:
      if getattr(self, name).shape != (n,):
        raise ValueError(f"Pool.{name} has shape {getattr(self, name).shape}, expected ({n},): "
                         f"one entry per row of scores.")
    if len(np.unique(self.image_id)) != n:
      raise ValueError("Pool.image_id has duplicates; every image needs its own id.")

  def __len__(self) -> int:
    return self.scores.shape[0]

  def nonfinite_per_model(self) -> np.ndarray:
    """``[M]`` number of NaN/inf scores of each model (those images sit out its comparisons)."""
    return np.sum(~np.isfinite(self.scores), axis=0)


def save_pool(path: str, pool: Pool) -> str:
  """Writes ``pool`` to ``path`` (``.npz`` added if missing, no pickles); returns the file name."""
  path = os.fspath(path)
  if not path.endswith(".npz"):
    path += ".npz"
  fields = {f.name: getattr(pool, f.name) for f in dataclasses.fields(pool)}
  fields = {k: np.asarray(v, str) if k in _STRINGS else v for k, v in fields.items()}
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  np.savez(path, **fields)
  return path


def load_pool(path: str) -> Pool:
  """Reads a pool written by :func:`save_pool`; relative image paths come back resolved.

  Raises:
    ValueError: naming ``path``: missing file or field, inconsistent lengths, or a model with no
      finite score at all (NaN/inf scores of single images are allowed and counted by gMAD).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise ValueError(f"pool file '{path}' does not exist; build one with save_pool (or "
                     "`python -m biqa_jax.data.pool OUT_DIR` for the embedded demo pool).")
  with np.load(path, allow_pickle=False) as data:
    missing = [f.name for f in dataclasses.fields(Pool) if f.name not in data.files]
    if missing:
      raise ValueError(f"pool file '{path}' lacks the field(s) {missing}; it was not written by "
                       "biqa_jax.data.pool.save_pool (fields: see that module's docstring).")
    fields = {f.name: data[f.name] for f in dataclasses.fields(Pool)}
  root = os.path.dirname(os.path.abspath(path))
  fields["path"] = np.asarray([p if not p or os.path.isabs(p) else os.path.join(root, p)
                               for p in fields["path"].tolist()], str)
  try:
    pool = Pool(**fields)
  except ValueError as err:
    raise ValueError(f"pool file '{path}': {err}") from None
  empty = [name for name, bad in zip(pool.model_names, pool.nonfinite_per_model())
           if len(pool) and bad == len(pool)]
  if empty:
    raise ValueError(f"pool file '{path}': model(s) {empty} have no finite score (all {len(pool)} "
                     "are NaN/inf); recompute them or drop the column.")
  return pool


# Every stand-in type of the embedded data that this Pillow can produce.
EMBEDDED_POOL_TYPES = ("gaussian_blur", "white_noise", "jpeg", "jpeg2000", "contrast_change",
                       "brighten", "darken", "color_saturation_1", "impulse_noise")


def embedded_pool(out_dir: str, short_side: int = 128,
                  distortion_types: tuple[str, ...] | None = None,
                  models: tuple[str, ...] = ("level_order", "psnr", "ssim"), seed: int = 0) -> Pool:
  """Builds, saves (``out_dir/pool.npz``) and returns the embedded demo pool.

  The distorted images of ``load_embedded(short_side, distortion_types, seed=seed)`` (references
  left out, as in method.md §5) written as ``out_dir/images/<photo>_<type>_<level>.png``, scored
  by the named annotators (all "higher = better"), with the stand-in MOS and std.
  """
  from PIL import Image

  from biqa_jax.data import annotators, distortions, embedded
  from biqa_jax.data.image_set import PRISTINE

  if distortion_types is None:
    distortion_types = tuple(t for t in EMBEDDED_POOL_TYPES if t in distortions.DISTORTIONS)
  data = embedded.load_embedded(short_side, tuple(distortion_types), seed=seed)
  scores = annotators.annotator_scores(data, models)
  keep = np.flatnonzero(data.distortion != PRISTINE)
  os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
  paths = []
  for i in keep:
    rel = os.path.join("images", data.names[i].replace("/", "_") + ".png")
    Image.fromarray(data.images[i]).save(os.path.join(out_dir, rel))
    paths.append(rel)
  pool = Pool(scores=scores[keep], model_names=models, directions=np.ones(len(models)),
              image_id=[data.names[i] for i in keep], path=paths,
              content_id=data.content_id[keep], distortion_type=data.distortion[keep],
              level=data.level[keep], mos=data.mos[keep], mos_std=data.std[keep],
              distortion_names=data.distortion_names)
  save_pool(os.path.join(out_dir, "pool.npz"), pool)
  return pool


if __name__ == "__main__":
  if len(sys.argv) != 2:
    sys.exit("usage: python -m biqa_jax.data.pool OUT_DIR")
  built = embedded_pool(sys.argv[1])
  print(f"wrote {os.path.join(sys.argv[1], 'pool.npz')}: {len(built)} images x "
        f"{len(built.model_names)} models {built.model_names}")
