"""Generalized divisive normalization (GDN), Ballé et al. 2016; paper Eq. 12.

Forward:  ``v_i = u_i / sqrt(beta_i + sum_j gamma_ij u_j^2)``
Inverse:  ``v_i = u_i * sqrt(beta_i + sum_j gamma_ij u_j^2)``  (``inverse=True``, the IGDN of
learned image compression; not used by the BIQA network, kept for completeness).

The sums run over channels at every pixel (NHWC, channels last). ``beta`` ``[C]`` and ``gamma``
``[C, C]`` are plain parameters; their feasibility (``beta, gamma >= lower bound``, ``gamma``
symmetric) is enforced by :func:`biqa_jax.constraints.gdn_projection` inside the optimiser update,
which finds them by these two names.

Initialisation: ``gamma = 0.1 * I``, ``beta = 1`` (the variant of the authors' code that does not
reparameterise beta). Chosen because beta and the diagonal of gamma start above the paper's
lower bound 2^-10; the other variant (``gamma = I``, ``beta = 1e-4``) starts with beta below it.
The off-diagonal zeros of gamma are below the bound too: training projects the initial
parameters once before the first step (``biqa_jax.train.run_stage``), which lifts them to the
bound. At this initialisation the denominator is ``sqrt(1 + 0.1 u_i^2) >= 1``, so the layer starts
as a gentle, well-conditioned squashing of each channel.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class GDN(nnx.Module):
  """GDN over the last axis of ``u: [..., C]``; returns the same shape and dtype as ``u``."""

  def __init__(
      self,
      channels: int,
      *,
      inverse: bool = False,
      beta_init: float = 1.0,
      gamma_init: float = 0.1,
      rngs: nnx.Rngs | None = None,
  ):
    del rngs  # Deterministic initialisation; the argument keeps the usual NNX constructor shape.
    self.channels = channels
    self.inverse = inverse
    self.beta = nnx.Param(jnp.full((channels,), beta_init, jnp.float32))
    self.gamma = nnx.Param(gamma_init * jnp.eye(channels, dtype=jnp.float32))

  def __call__(self, u: jnp.ndarray) -> jnp.ndarray:
    if u.shape[-1] != self.channels:
      raise ValueError(
          f"GDN({self.channels}) got an input with {u.shape[-1]} channels (shape {u.shape}); "
          "the channel axis must be last (NHWC).")
    # The normaliser is computed in float32 even under bfloat16 compute: the sum of squares
    # loses too many digits in bfloat16.
    u32 = u.astype(jnp.float32)
    norm = jnp.einsum("...j,ij->...i", jnp.square(u32), self.gamma[...]) + self.beta[...]
    v = u32 * jnp.sqrt(norm) if self.inverse else u32 * jax.lax.rsqrt(norm)
    return v.astype(u.dtype)

