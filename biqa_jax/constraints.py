"""GDN feasibility as an optax transform (method.md §1, "projection").

After every optimiser step the GDN parameters must satisfy ``beta >= lb``, ``gamma >= lb``
(element-wise) and ``gamma = gamma^T``. :func:`gdn_projection` is chained *after* the optimiser,
the way ``optax.keep_params_nonnegative`` is: it receives the optimiser's proposed ``updates``
and the current ``params``, projects the would-be new value onto the feasible set,
``P(w) = max(lb, (w + w^T) / 2)`` for gamma and ``max(lb, w)`` for beta, and returns the update
that lands there. All other parameters pass through untouched.

Parameters are recognised by name: a leaf whose key is ``beta`` (a vector) or ``gamma``
(a square matrix), as created by :class:`biqa_jax.models.GDN`. The Stage-1 annotator
reliabilities are named ``alpha_logit`` / ``beta_logit`` and so are not touched.

The projected value is exact; ``params + updates`` (what ``optax.apply_updates`` computes) can
differ from it by float rounding, i.e. a few units in the last place of the parameter, but is
never below the bound (see :func:`_update_landing_on`).

Lower bound: the paper prints 2^-10 (the default here); the authors' code used a much smaller
bound in places (method.md discusses the possible typo). It is a config value
(``config.model.gdn_lower_bound``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

PAPER_LOWER_BOUND = 2.0**-10
GDN_PARAM_NAMES = ("beta", "gamma")


def _leaf_name(path: tuple[Any, ...]) -> str | None:
  """The last meaningful key of a pytree path (skipping NNX's trailing ``.value``)."""
  for key in reversed(path):
    name = getattr(key, "key", getattr(key, "name", None))
    if name is not None and name != "value":
      return str(name)
  return None


def is_gdn_param(path: tuple[Any, ...], leaf: jnp.ndarray) -> bool:
  name = _leaf_name(path)
  if name == "beta":
    return leaf.ndim == 1
  if name == "gamma":
    return leaf.ndim == 2 and leaf.shape[0] == leaf.shape[1]
  return False


def project_gdn_params(params: Any, lower_bound: float = PAPER_LOWER_BOUND) -> Any:
  """Euclidean projection of every GDN ``beta``/``gamma`` in ``params`` onto the feasible set."""

  def project(path, leaf):
    if not is_gdn_param(path, leaf):
      return leaf
    if _leaf_name(path) == "gamma":
      leaf = 0.5 * (leaf + leaf.T)
    return jnp.maximum(leaf, jnp.asarray(lower_bound, leaf.dtype))

  return jax.tree_util.tree_map_with_path(project, params)


def _update_landing_on(p: jnp.ndarray, q: jnp.ndarray, lower_bound: float) -> jnp.ndarray:
  """The update ``u ~= q - p`` whose landing ``p + u`` (rounded as ``optax.apply_updates``
  rounds it) is still ``>= lower_bound``, as the projected value ``q`` is.

  ``p + (q - p)`` rounds to a multiple of ~``ulp(p)``: for a bound that is not a multiple of it
  (1e-10, 2e-10; the paper's power of two 2^-10 is, for ``|p| < 2^13``) it can land on 0 or
  below, an infeasible ``beta`` under which GDN divides by ``sqrt(<= 0)``. Moving such entries
  of ``u`` one ulp up puts them back on the feasible side.
  """
  u = q - p
  lb = jnp.asarray(lower_bound, p.dtype)
  return jnp.where(p + u < lb, jnp.nextafter(u, jnp.asarray(jnp.inf, u.dtype)), u)


def gdn_projection(lower_bound: float = PAPER_LOWER_BOUND) -> optax.GradientTransformation:
  """``optax`` transform making the *updated* GDN parameters feasible (chain it last)."""

  def init_fn(params):
    del params
    return optax.EmptyState()

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(
          "gdn_projection needs the current parameters: call tx.update(grads, state, params).")
    proposed = jax.tree.map(lambda p, u: p + u, params, updates)
    projected = project_gdn_params(proposed, lower_bound)
    new_updates = jax.tree_util.tree_map_with_path(
        lambda path, u, p, q: _update_landing_on(p, q, lower_bound)
        if is_gdn_param(path, p) else u,
        updates, params, projected)
    return new_updates, state

  return optax.GradientTransformation(init_fn, update_fn)
