"""Reading image files into ``[H, W, 3] uint8`` RGB arrays, with errors that say what to fix.

Every database, pool and user image goes through :func:`load_image`, so all of them are decoded
the same way:

* Decoded with Pillow, fully (``Image.load()``), first frame only for multi-frame files (GIF,
  TIFF). ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` must stay ``False``: a truncated file is an
  error, never an image whose missing rows are filled with grey (those rows would be scored as
  a distortion). :func:`load_image` refuses to run if some other code has switched it on.
* EXIF orientation applied (``ImageOps.exif_transpose``), so the array is what a viewer shows.
* Embedded ICC profiles are ignored: the pixel values are taken to be sRGB, as in the IQA
  databases (LIVE, CSIQ, TID2013, KADID-10k ship untagged sRGB files).

Pillow mode → RGB, per mode:

==========================  ===================================================================
``RGB``                     as is
``L``, ``1``                grey replicated to three channels (``1``: 0 / 255)
``P``                       palette lookup
``RGBA``, ``LA``, ``PA``,   composited on white: ``round((c * a + 255 * (255 - a)) / 255)`` with
``RGBa``, ``La``, and any   ``a`` the 8-bit alpha. White, not black, because transparent
mode with a transparent     regions of photos and figures are shown on white pages and screens,
colour (``tRNS``)           and black would add dark edges the network would score as a defect.
``I;16``, ``I;16B``,        16-bit grey, scaled by the bit depth: ``round(x / 257)``
``I;16L``, ``I;16N``        (``65535 / 257 = 255``). Pillow's own ``convert("L")`` clips at 255
                            instead, which turns every value above 255 into white.
``I`` (32-bit int)          treated as 16-bit grey (the mode older Pillow gives 16-bit PNG/PGM):
                            clipped to [0, 65535], then ``round(x / 257)``.
``F`` (32-bit float)        taken on Pillow's 0-255 scale (what ``convert("L")`` assumes),
                            clipped to [0, 255] and rounded. A float image whose values all lie
                            in [0, 1] is ambiguous (it would load almost black) and NaN/inf has
                            no meaning: both raise :class:`ImageError`.
``CMYK``                    Pillow's ``convert("RGB")`` (``R = 255 - C - K`` clipped, per
                            channel; Adobe-inverted CMYK JPEGs are handled by Pillow's decoder)
16-bit RGB/RGBA PNG         Pillow decodes these to 8-bit itself by keeping the high byte
                            (``x >> 8``), which can differ from ``round(x / 257)`` by one level;
                            accepted as is.
other (``YCbCr``, ...)      ``convert("RGB")`` where Pillow can, else :class:`ImageError`
==========================  ===================================================================

Transparency of 16-bit, ``I`` and ``F`` images is ignored (no such files in the IQA databases).
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

PathLike = Union[str, os.PathLike]

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# What Pillow's decoders raise on damaged data: OSError ("image file is truncated", "broken data
# stream"), SyntaxError ("broken PNG file"), and from some plugins ValueError/EOFError/struct and
# zlib errors.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class ImageError(ValueError):
  """An image file or array that cannot be used; the message names the file and the fix."""


def load_image(path: PathLike) -> np.ndarray:
  """Reads an image file as ``[H, W, 3] uint8`` RGB (see the module docstring for every mode).

  Raises:
    ImageError: the file is missing, unreadable, not an image, truncated or corrupt, or in a mode
      that cannot be mapped to RGB. The message names the file and says how to fix it.
    RuntimeError: ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` was set to ``True`` by other code.
  """
  name = os.fspath(path)
  if ImageFile.LOAD_TRUNCATED_IMAGES:
    raise RuntimeError(
        f"refusing to read '{name}': PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (set by your code "
        "or another library), so Pillow would silently pad truncated files with grey, which the "
        "network would score as a distortion. Set PIL.ImageFile.LOAD_TRUNCATED_IMAGES = False "
        "and re-export or remove the truncated files instead.")
  if not os.path.exists(name):
    raise ImageError(f"image file '{name}' does not exist (current directory: '{os.getcwd()}'). "
                     "Check the path and the database root in the config.")
  if os.path.isdir(name):
    raise ImageError(f"'{name}' is a directory, not an image file. Point at the image file itself.")

  try:
    with Image.open(name) as img:
      img.load()
      img = ImageOps.exif_transpose(img)
  except UnidentifiedImageError:
    size = os.path.getsize(name)
    raise ImageError(
        f"'{name}' ({size} bytes) is not an image Pillow can read: its content matches no known "
        "format. It may be empty, an HTML/text page saved under an image name (a failed "
        "download), or a format without an installed Pillow plugin (e.g. HEIC, AVIF). "
        "Re-download it or convert it to PNG.") from None
  except PermissionError as e:
    raise ImageError(f"cannot read image file '{name}': permission denied ({e.strerror}). "
                     "Fix the file's permissions.") from None
  except Image.DecompressionBombError as e:
    raise ImageError(
        f"'{name}' is larger than Pillow's safety limit ({e}). If you trust the file, raise "
        "PIL.Image.MAX_IMAGE_PIXELS before loading, or downscale the image.") from None
  except _DECODE_ERRORS as e:
    raise ImageError(
        f"image file '{name}' looks truncated or corrupt (Pillow: {type(e).__name__}: {e}). "
        "Re-export or re-download it; truncated images are not decoded, because the missing "
        "part would be filled with grey and scored as a distortion.") from None
  return _to_rgb_uint8(img, name)


def _to_rgb_uint8(img: Image.Image, name: str) -> np.ndarray:
  """``[H, W, 3] uint8`` RGB from a loaded Pillow image of any mode (module docstring's table)."""
  mode = img.mode
  if mode in _SIXTEEN_BIT_MODES or mode == "I":
    grey = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
    return _grey_to_rgb(_sixteen_to_eight_bit(grey))
  if mode == "F":
    return _grey_to_rgb(_float_to_eight_bit(np.asarray(img, dtype=np.float64), name))
  if mode in _ALPHA_MODES or "transparency" in img.info:
    if mode == "La":  # premultiplied grey + alpha: Pillow converts it to RGBA only via LA
      img = img.convert("LA")
    return _composite_on_white(np.asarray(img.convert("RGBA"), dtype=np.uint8))
  if mode == "RGB":
    return np.array(img, dtype=np.uint8)
  if mode in ("L", "1"):
    return _grey_to_rgb(np.asarray(img.convert("L"), dtype=np.uint8))
  try:
    return np.array(img.convert("RGB"), dtype=np.uint8)
  except (ValueError, OSError) as e:
    raise ImageError(
        f"image file '{name}' has Pillow mode '{mode}', which cannot be converted to RGB ({e}). "
        "Convert it to an 8-bit sRGB PNG with an image editor or ImageMagick "
        "(`magick in.tif -colorspace sRGB -depth 8 out.png`).") from None


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
  return np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)


def _sixteen_to_eight_bit(x: np.ndarray) -> np.ndarray:
  """``round(x / 257)`` for integers in [0, 65535], exactly (257 is odd, so no ties occur)."""
  return ((x.astype(np.int64) + 128) // 257).astype(np.uint8)


def _float_to_eight_bit(x: np.ndarray, name: str) -> np.ndarray:
  bad = ~np.isfinite(x)
  if bad.any():
    raise ImageError(
        f"float image '{name}' has {int(bad.sum())} NaN/inf pixels, which have no grey level. "
        "Fix the file (re-export it as an 8- or 16-bit integer PNG).")
  if x.size and x.max() <= 1.0 and x.max() > 0.0 and x.min() >= 0.0:
    raise ImageError(
        f"float image '{name}' has all values in [0, 1]; Pillow's convention for float images "
        "is 0-255, so it would load almost black. Re-export it as an 8- or 16-bit integer PNG "
        "(or scale it to 0-255 before saving).")
  return np.rint(np.clip(x, 0.0, 255.0)).astype(np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
  """``round((c * a + 255 * (255 - a)) / 255)`` per channel, exact in integers."""
  c = rgba[..., :3].astype(np.int64)
  a = rgba[..., 3:].astype(np.int64)
  return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def check_min_size(image: np.ndarray, min_size: int | tuple[int, int],
                   path: PathLike | None = None) -> np.ndarray:
  """Returns ``image`` (``[H, W, ...]``) unchanged if ``H >= min_h`` and ``W >= min_w``.

  ``min_size`` is an int (square minimum) or ``(min_h, min_w)``: the smallest input the network
  accepts (its receptive field / crop size).

  Raises:
    ImageError: the image is smaller; the message gives both sizes and the fix.
  """
  min_h, min_w = (min_size, min_size) if np.isscalar(min_size) else tuple(min_size)
  h, w = np.shape(image)[:2]
  if h < min_h or w < min_w:
    where = f"'{os.fspath(path)}'" if path is not None else "(array)"
    raise ImageError(
        f"image {where} is {h}x{w} px (HxW), smaller than the network's minimum "
        f"{min_h}x{min_w}; use a larger image, or upsample it first (e.g. Pillow "
        "Image.resize(..., Image.Resampling.LANCZOS)). Upsampling blurs it, so the score then "
        "describes the upsampled image.")
  return image


def to_float(image_uint8: np.ndarray) -> np.ndarray:
  """``image / 255`` as float32 in [0, 1]; any shape (``[..., H, W, 3]``), uint8 only.

  Raises:
    ValueError: the input is not uint8 (a float input is probably scaled already, and dividing
      it again by 255 would make it almost black).
  """
  image_uint8 = np.asarray(image_uint8)
  if image_uint8.dtype != np.uint8:
    raise ValueError(
        f"to_float expects a uint8 image in [0, 255] (as load_image returns), got dtype "
        f"{image_uint8.dtype}. If it is already float in [0, 1] use it as is; otherwise convert "
        "with np.clip(np.rint(x), 0, 255).astype(np.uint8) first.")
  return image_uint8.astype(np.float32) / np.float32(255.0)


def check_finite(name: str, array, source: PathLike | None = None, max_shown: int = 5):
  """Returns ``array`` unchanged if every element is finite; integer arrays always are.

  Used on scores, stds and labels as they are read, so a NaN is reported where it comes from
  rather than as a NaN loss thousands of steps later.

  Raises:
    ValueError: with the count of NaN and inf values, the first ``max_shown`` indices, and
      ``source`` (the file they were read from) when given; also for non-numeric input.
  """
  a = np.asarray(array)
  where = f" (from '{os.fspath(source)}')" if source is not None else ""
  if a.dtype.kind in "biu":
    return array
  if a.dtype.kind not in "fc":
    try:
      a = a.astype(np.float64)
    except (TypeError, ValueError):
      raise ValueError(f"{name}{where} is not numeric (dtype {a.dtype}); check the file for text "
                       "or empty entries in a numeric column.") from None
  bad = ~np.isfinite(a)
  n_bad = int(bad.sum())
  if n_bad == 0:
    return array
  n_nan = int(np.isnan(a).sum())
  first = [tuple(int(i) for i in idx) for idx in np.argwhere(bad)[:max_shown]]
  if a.ndim == 1:
    first = [i[0] for i in first]
  more = ", ..." if n_bad > max_shown else ""
  raise ValueError(
      f"{name}{where} has {n_bad} non-finite value(s) of {a.size} ({n_nan} NaN, "
      f"{n_bad - n_nan} inf); first at index {', '.join(map(str, first))}{more}. Fix or drop "
      "those entries in the source (an empty cell, 'nan' text, or a division by zero upstream); "
      "one NaN makes the whole loss NaN.")
