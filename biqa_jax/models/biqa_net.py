"""The BIQA network f_w of method.md §1 (paper Fig. 4).

Four stages of ``conv 3x3 (same, bias) -> GDN -> max-pool 2x2`` (no pool after the fourth),
48 channels throughout; spatial pyramid max-pooling over 1x1, 2x2 and 3x3 grids
(14 bins x 48 = 672 features); ``dense 672->128 -> ReLU -> dense 128->1``.

* Input ``images: [B, H, W, 3]`` float in [0, 1], any ``H, W >= MIN_SIZE`` (24: after three
  2x pools the map must still cover the 3x3 pyramid level). Output ``[B]`` float32 scores,
  higher = better quality.
* Parameters: 159,377 stored, of which 154,865 are free (the paper's count): each of the four
  ``gamma [48, 48]`` is kept symmetric by the projection, so only 48*49/2 of its entries are free.
* ``dtype=jnp.bfloat16`` computes convolutions and dense layers in bfloat16 (TPU/GPU) while the
  parameters, the GDN normaliser and the output stay float32.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from biqa_jax.models.gdn import GDN

NUM_STAGES = 4
NUM_POOLS = 3


def min_input_size(spp_levels: Sequence[int] = (1, 2, 3)) -> int:
  """Smallest H (and W) whose map after the three 2x max-pools still has ``max(levels)`` rows."""
  return max(spp_levels) * 2**NUM_POOLS


MIN_SIZE = min_input_size()


def spatial_pyramid_max_pool(x: jnp.ndarray, levels: Sequence[int]) -> jnp.ndarray:
  """Adaptive max-pooling ``x: [B, h, w, C] -> [B, sum(n^2) * C]``.

  Level ``n`` splits rows into bins ``[floor(i*h/n), ceil((i+1)*h/n))`` (likewise columns), so
  every pixel falls in at least one bin and bins overlap by at most one pixel when ``n`` does
  not divide ``h``. Features are ordered level by level, bins row-major, channels last.
  """
  _, h, w, _ = x.shape
  feats = []
  for n in levels:
    for i in range(n):
      r0, r1 = (i * h) // n, math.ceil((i + 1) * h / n)
      for j in range(n):
        c0, c1 = (j * w) // n, math.ceil((j + 1) * w / n)
        feats.append(jnp.max(x[:, r0:r1, c0:c1, :], axis=(1, 2)))
  return jnp.concatenate(feats, axis=-1)


def max_pool_2x2(x: jnp.ndarray) -> jnp.ndarray:
  """2x2 max-pooling, stride 2, VALID (an odd last row/column is dropped): ``[B, H, W, C] ->
  [B, H//2, W//2, C]``.

  Written as a reshape + max rather than ``nnx.max_pool``: the same values, but its gradient is
  an element-wise comparison instead of XLA's select-and-scatter, which is slow on CPU.
  """
  b, h, w, c = x.shape
  x = x[:, : h // 2 * 2, : w // 2 * 2]
  return jnp.max(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


class BIQANet(nnx.Module):
  """``f_w``: ``[B, H, W, 3]`` images in [0, 1] -> ``[B]`` quality scores (higher = better)."""

  def __init__(
      self,
      *,
      channels: int = 48,
      hidden: int = 128,
      spp_levels: Sequence[int] = (1, 2, 3),
      gdn_beta_init: float = 1.0,
      gdn_gamma_init: float = 0.1,
      dtype: jnp.dtype = jnp.float32,
      rngs: nnx.Rngs,
  ):
    self.spp_levels = tuple(int(n) for n in spp_levels)
    self.min_size = min_input_size(self.spp_levels)
    self.dtype = dtype
    glorot = nnx.initializers.xavier_uniform()
    conv = dict(kernel_size=(3, 3), padding="SAME", use_bias=True, kernel_init=glorot,
                dtype=dtype, param_dtype=jnp.float32, rngs=rngs)
    gdn = dict(beta_init=gdn_beta_init, gamma_init=gdn_gamma_init)
    # Named attributes (not a list) so parameter paths read conv1 ... gdn4, fc1, fc2: the
    # per-layer learning rates of active fine-tuning select layers by these names.
    self.conv1 = nnx.Conv(3, channels, **conv)
    self.gdn1 = GDN(channels, **gdn)
    self.conv2 = nnx.Conv(channels, channels, **conv)
    self.gdn2 = GDN(channels, **gdn)
    self.conv3 = nnx.Conv(channels, channels, **conv)
    self.gdn3 = GDN(channels, **gdn)
    self.conv4 = nnx.Conv(channels, channels, **conv)
    self.gdn4 = GDN(channels, **gdn)
    num_features = sum(n * n for n in self.spp_levels) * channels
    dense = dict(kernel_init=glorot, dtype=dtype, param_dtype=jnp.float32, rngs=rngs)
    self.fc1 = nnx.Linear(num_features, hidden, **dense)
    self.fc2 = nnx.Linear(hidden, 1, **dense)

  def features(self, images: jnp.ndarray) -> jnp.ndarray:
    """The 672-d pyramid features ``[B, F]`` before the dense head."""
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(
          f"BIQANet expects images of shape [B, H, W, 3] (NHWC, RGB); got {images.shape}.")
    h, w = images.shape[1:3]
    if h < self.min_size or w < self.min_size:
      raise ValueError(
          f"image of {h}x{w} px is smaller than the network's minimum {self.min_size}x"
          f"{self.min_size} px (three 2x max-pools must leave a map of at least "
          f"{max(self.spp_levels)}x{max(self.spp_levels)} for the pyramid pooling); "
          "upsample or pad the image.")
    x = images.astype(self.dtype)
    stages = ((self.conv1, self.gdn1), (self.conv2, self.gdn2), (self.conv3, self.gdn3),
              (self.conv4, self.gdn4))
    for k, (conv, gdn) in enumerate(stages):
      x = gdn(conv(x))
      if k < NUM_POOLS:
        x = max_pool_2x2(x)
    return spatial_pyramid_max_pool(x, self.spp_levels)

  def __call__(self, images: jnp.ndarray) -> jnp.ndarray:
    x = nnx.relu(self.fc1(self.features(images)))
    return self.fc2(x)[:, 0].astype(jnp.float32)


def count_parameters(model: nnx.Module, *, free: bool = False) -> int:
  """Number of parameters; ``free=True`` counts a symmetric ``gamma [C, C]`` as C(C+1)/2."""
  total = 0
  for path, leaf in jax.tree_util.tree_leaves_with_path(nnx.state(model, nnx.Param)):
    names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
    if free and "gamma" in names and leaf.ndim == 2 and leaf.shape[0] == leaf.shape[1]:
      c = leaf.shape[0]
      total += c * (c + 1) // 2
    else:
      total += leaf.size
  return int(total)
