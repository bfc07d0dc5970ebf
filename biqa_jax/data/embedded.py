"""The embedded default data: scikit-image's bundled colour photos and distorted versions.

With no database on disk the whole pipeline runs on this. Nothing is downloaded: the photos ship
inside the installed scikit-image package.

* References: the bundled colour photos below (``motorcycle_left``/``motorcycle_right`` are one
  scene seen from two cameras and share a content id, so the reference-disjoint split keeps them
  together). Each is resized (Lanczos) so its shorter side is ``short_side`` px.
* Distorted images: every reference under each configured type of
  :data:`biqa_jax.data.distortions.DISTORTIONS` at its five levels (seeded, deterministic).
* Stand-in "human" scores (until real subjective data is used), a documented smooth function of
  the distortion level with content offsets and noise, on a 0-100 scale (higher = better)::

      mos = clip(90 - 70 * w_type * (level / 5) ** 0.8 + c_content + e,  0, 100)
      std = 6 + 8 * (level / 5) * (1 - level / 5)

  with ``w_type`` a per-type weight (:data:`STANDIN_TYPE_WEIGHT`, 1 for unlisted types),
  ``c_content ~ U(-5, 5)`` per content and ``e ~ N(0, standin_noise^2)`` per image, all drawn
  from ``seed``. The std peaks at mid levels, where real observers disagree most.
"""

from __future__ import annotations

import numpy as np
import skimage.data
from PIL import Image

from biqa_jax.data import distortions
from biqa_jax.data.image_set import PRISTINE, ImageSet

# (name, content id). Loaded through skimage.data; all are bundled colour photos.
PHOTOS = (
    ("astronaut", 0), ("chelsea", 1), ("coffee", 2), ("hubble_deep_field", 3),
    ("immunohistochemistry", 4), ("motorcycle_left", 5), ("motorcycle_right", 5),
    ("retina", 6), ("rocket", 7),
)

STANDIN_TYPE_WEIGHT = {
    "gaussian_blur": 1.0, "white_noise": 0.85, "jpeg": 0.9, "jpeg2000": 0.95,
    "contrast_change": 0.6, "brighten": 0.5, "darken": 0.6, "color_saturation_1": 0.45,
    "impulse_noise": 0.8,
}


def _bundled_photo(name: str) -> np.ndarray:
  if name in ("motorcycle_left", "motorcycle_right"):
    left, right, _ = skimage.data.stereo_motorcycle()
    image = left if name == "motorcycle_left" else right
  else:
    image = getattr(skimage.data, name)()
  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
    raise RuntimeError(f"scikit-image's bundled photo {name!r} is not uint8 RGB "
                       f"(shape {image.shape}, dtype {image.dtype}); check the scikit-image version.")
  return image


def resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
  h, w = image.shape[:2]
  scale = short_side / min(h, w)
  size = (max(short_side, round(w * scale)), max(short_side, round(h * scale)))
  return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def reference_photos(short_side: int) -> list[tuple[str, int, np.ndarray]]:
  """``[(name, content_id, uint8 [H, W, 3])]`` of the bundled photos, shorter side ``short_side``."""
  return [(name, cid, resize_short_side(_bundled_photo(name), short_side)) for name, cid in PHOTOS]


def load_embedded(short_side: int = 384,
                  distortion_types: tuple[str, ...] = ("gaussian_blur", "white_noise", "jpeg"),
                  standin_noise: float = 3.0, seed: int = 0) -> ImageSet:
  """Builds the embedded :class:`ImageSet` (references first, then type-major, level-minor)."""
  unknown = [t for t in distortion_types if t not in distortions.DISTORTIONS]
  if unknown:
    raise ValueError(f"unknown distortion type(s) {unknown} in config.data.embedded.distortions; "
                     f"known: {sorted(distortions.DISTORTIONS)}.")
  rng = np.random.default_rng(seed)
  refs = reference_photos(short_side)
  images, names, content, ref_index, dist, level = [], [], [], [], [], []
  for r, (name, cid, image) in enumerate(refs):
    images.append(image)
    names.append(f"{name}/pristine/0")
    content.append(cid), ref_index.append(r), dist.append(PRISTINE), level.append(0)
  for r, (name, cid, image) in enumerate(refs):
    for t, dname in enumerate(distortion_types):
      for lvl in range(1, 6):
        # One seed per (reference, type, level) so adding a type never changes the others.
        images.append(distortions.distort(image, dname, lvl - 1, seed=seed * 100_003 + r * 1009 + t * 7 + lvl))
        names.append(f"{name}/{dname}/{lvl}")
        content.append(cid), ref_index.append(r), dist.append(t), level.append(lvl)

  content_id = np.asarray(content, np.int32)
  dist = np.asarray(dist, np.int32)
  level = np.asarray(level, np.int32)
  mos, std = standin_mos(content_id, dist, level, distortion_types, standin_noise, rng)
  return ImageSet(images=images, names=names, content_id=content_id,
                  reference_index=np.asarray(ref_index, np.int32), distortion=dist, level=level,
                  mos=mos, std=std, distortion_names=tuple(distortion_types))


def standin_mos(content_id: np.ndarray, distortion: np.ndarray, level: np.ndarray,
                distortion_types: tuple[str, ...], noise: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """The stand-in ``(mos [N], std [N])`` of the module docstring."""
  weight = np.array([STANDIN_TYPE_WEIGHT.get(t, 1.0) for t in distortion_types] + [0.0])
  w = weight[distortion]  # PRISTINE (-1) picks the trailing 0
  x = level / 5.0
  offset = rng.uniform(-5.0, 5.0, size=int(content_id.max()) + 1)[content_id]
  mos = 90.0 - 70.0 * w * x**0.8 + offset + rng.normal(0.0, noise, size=len(level))
  std = 6.0 + 8.0 * x * (1.0 - x)
  return np.clip(mos, 0.0, 100.0).astype(np.float32), std.astype(np.float32)
