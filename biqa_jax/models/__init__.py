"""The BIQA network and its GDN layer, plus a pure-function view for jit/grad/optax."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import nnx

from biqa_jax.models.biqa_net import MIN_SIZE, BIQANet, count_parameters, min_input_size
from biqa_jax.models.gdn import GDN

__all__ = ["BIQANet", "GDN", "MIN_SIZE", "count_parameters", "min_input_size", "functional", "build_model"]

Params = dict[str, Any]


def functional(model: nnx.Module) -> tuple[Callable[[Params, jnp.ndarray], jnp.ndarray], Params]:
  """Splits ``model`` into ``(apply_fn, params)``.

  ``params`` is a plain nested dict of arrays (what optax and Orbax see);
  ``apply_fn(params, images) -> scores`` is pure and can be jitted, vmapped and differentiated.
  """
  graphdef, state = nnx.split(model)
  params = nnx.to_pure_dict(state)

  def apply_fn(params: Params, images: jnp.ndarray) -> jnp.ndarray:
    new_state = jax.tree.map(lambda x: x, state)
    nnx.replace_by_pure_dict(new_state, params)
    return nnx.merge(graphdef, new_state)(images)

  return apply_fn, params


def build_model(model_config: Any, seed: int = 0) -> BIQANet:
  """``BIQANet`` from ``config.model`` (a ConfigDict or the plain dict stored in checkpoints)."""
  get = model_config.get
  dtypes = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
  if get("dtype", "float32") not in dtypes:
    raise ValueError(f"config.model.dtype={get('dtype')!r}; use one of {sorted(dtypes)}.")
  return BIQANet(channels=get("channels", 48), hidden=get("hidden", 128),
                 spp_levels=tuple(get("spp_levels", (1, 2, 3))),
                 gdn_beta_init=get("gdn_beta_init", 1.0), gdn_gamma_init=get("gdn_gamma_init", 0.1),
                 dtype=dtypes[get("dtype", "float32")], rngs=nnx.Rngs(seed))
