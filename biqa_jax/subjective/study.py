"""The selection format shared with gMAD, read and written here.

A *selection* is what the gMAD competition writes and what a study is created from:

    selection/
      manifest.json
      <the images, in any sub-folders>

``manifest.json``::

    {
      "pairs": [
        {"pair_id": "ssim-vs-biqa-L3-01",
         "image_a": "images/0001.png", "image_b": "images/0042.png",
         "meta": {"defender": "ssim", "attacker": "biqa", "level": 3}},
        ...
      ],
      "anchors": ["training/a.png", "training/b.png"]
    }

* ``pair_id``: a unique, non-empty string (at most 200 printable characters, not starting with
  ``#``, which marks the training pairs the app makes from the anchors).
* ``image_a`` / ``image_b``: paths relative to the selection folder, written with ``/``; two
  different images. The path *is* the image's id everywhere downstream (ratings CSV, MOS CSV),
  so an image used in several pairs is rated as one image.
* ``meta``: optional, any JSON object; kept with the pair and not interpreted here.
* ``anchors``: optional training images ("unrelated samples", method.md §7), as paths or
  ``{"image": path}``; none or at least two. Each rater first rates them in pairs (consecutive
  anchors, the last paired with the first when their number is odd); those ratings are stored but
  never enter the MOS.
* Images must be PNG, JPEG, WebP, GIF or BMP (what every browser shows natively).

:func:`write_selection` writes a manifest (gMAD's side); :func:`read_selection` validates one and
says what is wrong and where.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from typing import Any, Iterable, Mapping

from PIL import Image

MANIFEST = "manifest.json"
BROWSER_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp",
                   "GIF": "image/gif", "BMP": "image/bmp"}
MAX_PAIR_ID = 200


class SelectionError(ValueError):
  """A selection folder or manifest that cannot be used, with what to fix."""


@dataclasses.dataclass(frozen=True)
class Pair:
  pair_id: str
  image_a: str
  image_b: str
  meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ImageInfo:
  image_id: str     # path relative to the selection folder, '/'-separated
  width: int
  height: int
  mime: str


@dataclasses.dataclass(frozen=True)
class Selection:
  root: str
  pairs: tuple[Pair, ...]
  anchors: tuple[str, ...]
  images: Mapping[str, ImageInfo]   # every image of pairs and anchors, by id

  def path(self, image_id: str) -> str:
    return os.path.join(self.root, *image_id.split("/"))


def _image_id(value: Any, where: str, root: str) -> str:
  if not isinstance(value, str) or not value.strip():
    raise SelectionError(f"{where} must be a non-empty path string relative to {root}, got "
                         f"{value!r}.")
  if "\\" in value:
    raise SelectionError(f"{where} = {value!r}: write paths with '/', not '\\'.")
  norm = posixpath.normpath(value)
  if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
    raise SelectionError(f"{where} = {value!r} points outside the selection folder {root}; "
                         f"paths must be relative to it and stay inside it.")
  return norm


def _check_pair_id(value: Any, where: str) -> str:
  if isinstance(value, bool) or not isinstance(value, (str, int)):
    raise SelectionError(f"{where}.pair_id must be a string, got {value!r}.")
  value = str(value)
  if not value or len(value) > MAX_PAIR_ID or not value.isprintable() or value.startswith("#"):
    raise SelectionError(
        f"{where}.pair_id = {value!r}: use 1 to {MAX_PAIR_ID} printable characters, not "
        f"starting with '#' (reserved for the training pairs).")
  return value


def _probe_image(root: str, image_id: str, where: str) -> ImageInfo:
  path = os.path.join(root, *image_id.split("/"))
  if not os.path.isfile(path):
    raise SelectionError(f"{where}: image {image_id!r} not found (looked for {path}).")
  try:
    with Image.open(path) as im:
      fmt, (w, h) = im.format, im.size
      im.verify()
  except Exception as err:  # Pillow raises many types for broken files
    raise SelectionError(f"{where}: {path} is not a readable image ({err}).") from err
  if fmt not in BROWSER_FORMATS:
    raise SelectionError(f"{where}: {path} is {fmt}; browsers show only "
                         f"{', '.join(sorted(BROWSER_FORMATS))} natively — convert it to PNG.")
  return ImageInfo(image_id=image_id, width=w, height=h, mime=BROWSER_FORMATS[fmt])


def read_selection(selection_dir: str) -> Selection:
  """Reads and validates ``selection_dir/manifest.json`` and the images it names."""
  root = os.path.abspath(selection_dir)
  manifest_path = os.path.join(root, MANIFEST)
  if not os.path.isfile(manifest_path):
    raise SelectionError(f"no {MANIFEST} in {root}: a selection folder holds the images and a "
                         f"{MANIFEST} listing the pairs (see biqa_jax/subjective/study.py).")
  try:
    with open(manifest_path, encoding="utf-8") as f:
      doc = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as err:
    raise SelectionError(f"{manifest_path} is not valid JSON: {err}.") from err
  if not isinstance(doc, dict) or not isinstance(doc.get("pairs"), list) or not doc["pairs"]:
    raise SelectionError(f"{manifest_path} must be an object with a non-empty list \"pairs\".")
  unknown = set(doc) - {"pairs", "anchors"}
  if unknown:
    raise SelectionError(f"{manifest_path}: unknown key(s) {sorted(unknown)}; expected "
                         f"\"pairs\" and optionally \"anchors\".")

  pairs, seen = [], {}
  for k, entry in enumerate(doc["pairs"]):
    where = f"{MANIFEST} pairs[{k}]"
    if not isinstance(entry, dict):
      raise SelectionError(f"{where} must be an object with pair_id, image_a, image_b.")
    missing = {"pair_id", "image_a", "image_b"} - set(entry)
    if missing:
      raise SelectionError(f"{where} lacks {sorted(missing)}.")
    extra = set(entry) - {"pair_id", "image_a", "image_b", "meta"}
    if extra:
      raise SelectionError(f"{where}: unknown key(s) {sorted(extra)}; put extra information "
                           f"under \"meta\".")
    pair_id = _check_pair_id(entry["pair_id"], where)
    if pair_id in seen:
      raise SelectionError(f"{where}: pair_id {pair_id!r} already used by pairs[{seen[pair_id]}].")
    seen[pair_id] = k
    a = _image_id(entry["image_a"], f"{where}.image_a", root)
    b = _image_id(entry["image_b"], f"{where}.image_b", root)
    if a == b:
      raise SelectionError(f"{where}: image_a and image_b are the same image {a!r}.")
    meta = entry.get("meta", {})
    if not isinstance(meta, dict):
      raise SelectionError(f"{where}.meta must be a JSON object, got {type(meta).__name__}.")
    pairs.append(Pair(pair_id=pair_id, image_a=a, image_b=b, meta=meta))

  raw_anchors = doc.get("anchors", [])
  if not isinstance(raw_anchors, list):
    raise SelectionError(f"{MANIFEST} \"anchors\" must be a list of image paths.")
  anchors = []
  for k, entry in enumerate(raw_anchors):
    if isinstance(entry, dict):
      entry = entry.get("image")
    anchors.append(_image_id(entry, f"{MANIFEST} anchors[{k}]", root))
  if len(anchors) == 1:
    raise SelectionError(f"{MANIFEST} lists one anchor; training pairs need none or at least two.")

  images = {}
  for k, p in enumerate(pairs):
    for image_id in (p.image_a, p.image_b):
      if image_id not in images:
        images[image_id] = _probe_image(root, image_id, f"{MANIFEST} pairs[{k}]")
  for k, image_id in enumerate(anchors):
    if image_id not in images:
      images[image_id] = _probe_image(root, image_id, f"{MANIFEST} anchors[{k}]")
  return Selection(root=root, pairs=tuple(pairs), anchors=tuple(anchors), images=images)


def training_pairs(anchors: Iterable[str]) -> list[Pair]:
  """The training pairs made from the anchors: consecutive ones, the last with the first if odd."""
  anchors = list(anchors)
  out = []
  for k in range(0, len(anchors), 2):
    b = anchors[k + 1] if k + 1 < len(anchors) else anchors[0]
    out.append(Pair(pair_id=f"#training-{k // 2 + 1}", image_a=anchors[k], image_b=b))
  return out


def write_selection(selection_dir: str, pairs: Iterable[Pair | Mapping[str, Any]],
                    anchors: Iterable[str] = ()) -> str:
  """Writes ``selection_dir/manifest.json`` for images already in the folder; validates it.

  ``pairs`` are :class:`Pair` or mappings with ``pair_id``, ``image_a``, ``image_b`` and optional
  ``meta``. Returns the manifest's path.
  """
  doc = {"pairs": [], "anchors": list(anchors)}
  for p in pairs:
    p = dataclasses.asdict(p) if isinstance(p, Pair) else dict(p)
    entry = {"pair_id": p["pair_id"], "image_a": p["image_a"], "image_b": p["image_b"]}
    if p.get("meta"):
      entry["meta"] = dict(p["meta"])
    doc["pairs"].append(entry)
  path = os.path.join(selection_dir, MANIFEST)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1)
  os.replace(tmp, path)
  try:
    read_selection(selection_dir)
  except SelectionError:
    os.remove(path)  # never leave a manifest behind that a study cannot be made from
    raise
  return path
