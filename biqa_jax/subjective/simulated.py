"""A simulated observer panel: ratings without people, from a hidden "oracle" quality.

The oracle is any callable ``oracle(image_ids) -> [I]`` giving the "true" quality on the rating
scale (0 worst … 100 best), e.g. an FR model's scores mapped with Eq. 13 onto that scale
(:func:`oracle_from_scores` wraps a dict). Each simulated rater ``j`` has its own habits:

* a **good** rater answers ``clip(50 + scale_j·(q − 50) + bias_j + noise_j·ε, 0, 100)`` with
  ``bias_j ~ N(0, bias_sd²)``, ``log scale_j ~ N(0, scale_sd²)``, ``noise_j ~ U(noise_sd)`` and a
  fresh ``ε ~ N(0, 1)`` per rating;
* a careless **random** rater answers ``U(0, 100)`` whatever the image;
* a careless **inverted** rater uses the scale upside down: ``100 −`` a good rater's answer.

Ratings are rounded to integers, like the app's sliders. ``careless_share`` of the panel (rounded
to a whole number of raters) is careless, alternately random and inverted, at random places in the
panel; :attr:`SimulatedPanel.careless` tells which, so tests can check the BT.500 screening and that
the MOS tracks the oracle. This is the stand-in for people in the embedded default of the active
loop (:func:`simulated_mos`).

How well BT.500 screening (as in method.md §7) catches careless raters depends on how many images
each rater scores. With 15 raters, 20 % careless and the defaults here, it rejects all of them
when each rater scores about 1,000 images (a gMAD round has up to 1,080 pairs;
``tests/test_subjective_screening.py`` checks ≥ 90 % over 10 panels), about 80 % with 200 images
and only about half with 60: with few ratings the balance test ``|P − Q|/(P + Q) < 0.3`` is noisy,
and careless raters make images heavy-tailed (β2 > 4, so t = √20). Good raters were never
rejected in any of these settings.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np

from biqa_jax.subjective import results

Oracle = Callable[[Sequence[str]], np.ndarray]
KINDS = ("good", "random", "inverted")


def oracle_from_scores(scores: Mapping[str, float]) -> Oracle:
  """An oracle that looks each image id up in ``scores`` (quality on 0–100, higher = better)."""
  def oracle(image_ids):
    missing = [i for i in image_ids if i not in scores]
    if missing:
      raise KeyError(f"the oracle has no score for {len(missing)} image(s), e.g. {missing[0]!r}.")
    return np.array([scores[i] for i in image_ids], dtype=np.float64)
  return oracle


@dataclasses.dataclass(frozen=True)
class SimulatedPanel:
  oracle: Oracle
  kinds: tuple[str, ...]     # [S] "good" | "random" | "inverted"
  bias: np.ndarray           # [S]
  scale: np.ndarray          # [S]
  noise: np.ndarray          # [S] std of a rater's per-rating noise
  seed: int

  @property
  def careless(self) -> np.ndarray:
    """Bool ``[S]``: raters that are not "good"."""
    return np.array([k != "good" for k in self.kinds])

  def _quality(self, image_ids: Sequence[str]) -> np.ndarray:
    q = np.asarray(self.oracle(list(image_ids)), dtype=np.float64)
    if q.shape != (len(image_ids),) or not np.isfinite(q).all():
      raise ValueError(f"the oracle must return {len(image_ids)} finite scores (one per image), "
                       f"got shape {q.shape}" + ("" if q.shape != (len(image_ids),)
                                                 else " with NaN/inf") + ".")
    return q

  def _answer(self, q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``[S, I]`` ratings of qualities ``q[I]``, one fresh draw per rater and rating."""
    s, n = len(self.kinds), q.shape[0]
    good = (50 + self.scale[:, None] * (q[None, :] - 50) + self.bias[:, None]
            + self.noise[:, None] * rng.standard_normal((s, n)))
    kinds = np.array(self.kinds)[:, None]
    out = np.where(kinds == "random", rng.uniform(0, 100, (s, n)), good)
    out = np.where(kinds == "inverted", 100 - good, out)
    return np.round(np.clip(out, 0, 100))

  def rate_images(self, image_ids: Sequence[str], *, missing_share: float = 0.0,
                  seed: int | None = None) -> np.ndarray:
    """``ratings[S, I]`` of the panel for ``image_ids``; ``missing_share`` of entries NaN."""
    rng = np.random.default_rng([self.seed, 1 if seed is None else 2 + seed])
    out = self._answer(self._quality(image_ids), rng)
    if missing_share:
      out[rng.random(out.shape) < missing_share] = np.nan
    return out

  def rate_pairs(self, pairs: Sequence[tuple[str, str]], *, seed: int | None = None
                 ) -> np.ndarray:
    """``scores[S, P, 2]``: every rater's two slider values (image_a, image_b) for each pair."""
    flat = [image for pair in pairs for image in pair]
    unique = list(dict.fromkeys(flat))
    q_unique = self._quality(unique)
    q = q_unique[[unique.index(i) for i in flat]] if flat else np.zeros(0)
    rng = np.random.default_rng([self.seed, 0 if seed is None else 2 + seed, 7])
    return self._answer(q, rng).reshape(len(self.kinds), len(pairs), 2)


def make_panel(oracle: Oracle, n_raters: int = 15, *, careless_share: float = 0.0,
               bias_sd: float = 5.0, scale_sd: float = 0.1,
               noise_sd: tuple[float, float] = (4.0, 8.0), seed: int = 0) -> SimulatedPanel:
  """A panel of ``n_raters`` (the paper used 15 subjects per round), some careless."""
  if n_raters < 1:
    raise ValueError(f"n_raters must be at least 1, got {n_raters}.")
  if not 0.0 <= careless_share <= 1.0:
    raise ValueError(f"careless_share is a fraction in [0, 1], got {careless_share}.")
  rng = np.random.default_rng(seed)
  n_careless = int(round(careless_share * n_raters))
  kinds = ["good"] * n_raters
  for k, j in enumerate(rng.permutation(n_raters)[:n_careless]):
    kinds[j] = "random" if k % 2 == 0 else "inverted"
  return SimulatedPanel(
      oracle=oracle, kinds=tuple(kinds),
      bias=rng.normal(0.0, bias_sd, n_raters),
      scale=np.exp(rng.normal(0.0, scale_sd, n_raters)),
      noise=rng.uniform(noise_sd[0], noise_sd[1], n_raters), seed=seed)


def simulated_mos(image_ids: Sequence[str], oracle: Oracle, *, n_raters: int = 15,
                  careless_share: float = 0.0, remove_outlier_ratings: bool = True,
                  seed: int = 0) -> tuple[results.MosTable, results.ScreeningReport]:
  """A whole simulated subjective test: panel ratings → BT.500 screening → MOS table."""
  panel = make_panel(oracle, n_raters, careless_share=careless_share, seed=seed)
  ratings = panel.rate_images(image_ids)
  rater_ids = [f"sim-{j + 1:03d}-{k}" for j, k in enumerate(panel.kinds)]
  return results.screen_ratings(ratings, rater_ids, list(image_ids),
                                remove_outlier_ratings=remove_outlier_ratings)


__all__ = ["SimulatedPanel", "make_panel", "oracle_from_scores", "simulated_mos"]
