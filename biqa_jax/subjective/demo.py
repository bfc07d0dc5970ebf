"""A small demo selection in the gMAD format, to try the app and to test it.

:func:`write_demo_selection` crops photos bundled with scikit-image (nothing is downloaded),
distorts them (Gaussian blur, white noise, JPEG) at levels 0 (pristine) … 4 and writes the images
and a ``manifest.json`` of random pairs (see ``study.py``), plus two anchors for the training
pairs. Its return value gives the "true" quality of every image (``90 − 18·level``) to drive a
simulated panel. ``python -m biqa_jax.subjective demo --out DIR`` calls it.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageFilter

from biqa_jax.subjective import study as study_lib

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
DISTORTIONS = ("blur", "noise", "jpeg")


def _photo(name: str, size: tuple[int, int]) -> Image.Image:
  import skimage.data  # only here: the app itself does not need scikit-image

  pixels = getattr(skimage.data, name)()
  im = Image.fromarray(pixels).convert("RGB")
  w, h = size
  scale = max(w / im.width, h / im.height)
  im = im.resize((max(w, round(im.width * scale)), max(h, round(im.height * scale))),
                 Image.LANCZOS)
  left, top = (im.width - w) // 2, (im.height - h) // 2
  return im.crop((left, top, left + w, top + h))


def _distort(im: Image.Image, kind: str, level: int, rng: np.random.Generator) -> Image.Image:
  if level == 0:
    return im
  if kind == "blur":
    return im.filter(ImageFilter.GaussianBlur(radius=0.8 * level))
  if kind == "noise":
    arr = np.asarray(im, dtype=np.float64) + rng.normal(0, 9.0 * level, (im.height, im.width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
  buf = io.BytesIO()
  im.save(buf, format="JPEG", quality=int(40 / level))
  return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def write_demo_selection(folder: str, *, n_pairs: int = 12, size: tuple[int, int] = (256, 192),
                         seed: int = 0) -> dict[str, float]:
  """Writes images + ``manifest.json`` into ``folder``; returns ``{image_id: true quality}``."""
  rng = np.random.default_rng(seed)
  os.makedirs(os.path.join(folder, "images"), exist_ok=True)
  os.makedirs(os.path.join(folder, "training"), exist_ok=True)
  quality, ids = {}, []
  for photo in PHOTOS[:3]:
    base = _photo(photo, size)
    for kind in DISTORTIONS:
      for level in range(5):
        if level == 0 and kind != DISTORTIONS[0]:
          continue  # one pristine image per photo
        image_id = f"images/{photo}_{kind}{level}.png"
        _distort(base, kind, level, rng).save(os.path.join(folder, *image_id.split("/")))
        quality[image_id] = 90.0 - 18.0 * level
        ids.append(image_id)
  anchors = []
  train = _photo(PHOTOS[3], size)
  for level in (0, 3):
    image_id = f"training/{PHOTOS[3]}_blur{level}.png"
    _distort(train, "blur", level, rng).save(os.path.join(folder, *image_id.split("/")))
    quality[image_id] = 90.0 - 18.0 * level
    anchors.append(image_id)
  if not 1 <= n_pairs <= len(ids) * (len(ids) - 1) // 2:
    raise ValueError(f"n_pairs must be from 1 to {len(ids) * (len(ids) - 1) // 2} (pairs of "
                     f"{len(ids)} images), got {n_pairs}.")
  pairs, used = [], set()
  while len(pairs) < n_pairs:
    a, b = (ids[k] for k in rng.choice(len(ids), 2, replace=False))
    if (a, b) in used or (b, a) in used:
      continue
    used.add((a, b))
    pairs.append({"pair_id": f"demo-{len(pairs) + 1:03d}", "image_a": a, "image_b": b,
                  "meta": {"defender": "demo", "attacker": "demo", "level": int(rng.integers(5))}})
  study_lib.write_selection(folder, pairs, anchors)
  return quality
