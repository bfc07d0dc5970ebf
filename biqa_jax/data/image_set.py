"""``ImageSet``: a table of images with their reference content, distortion and (stand-in) MOS.

The one in-memory format the training and evaluation code consume, whatever the source
(the embedded default data, or a human-rated database).
"""

from __future__ import annotations

import dataclasses

import numpy as np

PRISTINE = -1  # distortion id of an undistorted reference image


@dataclasses.dataclass(frozen=True)
class ImageSet:
  """Images and their labels; every array has one row per image.

  images:          list of N uint8 [H, W, 3] arrays (sizes may differ between images)
  names:           N strings, e.g. ``"astronaut/jpeg/3"``
  content_id:      [N] int32, the reference content (the unit of the train/test split)
  reference_index: [N] int32, index of the undistorted reference of this image in the set
  distortion:      [N] int32, index into ``distortion_names``; ``PRISTINE`` (-1) for references
  level:           [N] int32, 0 for references, 1..5 for distorted images (5 = strongest)
  mos:             [N] float32, mean opinion score, higher = better
  std:             [N] float32, standard deviation of the opinion scores
  distortion_names: names of the distortion types
  """

  images: list[np.ndarray]
  names: list[str]
  content_id: np.ndarray
  reference_index: np.ndarray
  distortion: np.ndarray
  level: np.ndarray
  mos: np.ndarray
  std: np.ndarray
  distortion_names: tuple[str, ...]

  def __post_init__(self):
    n = len(self.images)
    for field in ("names", "content_id", "reference_index", "distortion", "level", "mos", "std"):
      if len(getattr(self, field)) != n:
        raise ValueError(f"ImageSet.{field} has {len(getattr(self, field))} rows, expected {n} "
                         "(one per image).")

  def __len__(self) -> int:
    return len(self.images)

  @property
  def num_contents(self) -> int:
    return int(self.content_id.max()) + 1 if len(self) else 0
