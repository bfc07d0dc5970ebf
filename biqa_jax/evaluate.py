"""Restore a trained model from Orbax checkpoints, predict on the test split, report metrics.

``--config.mode=evaluate`` lands here: parameters are restored without building the optimiser;
the report (SRCC, KRCC, PLCC and RMSE after the logistic fit of Eq. 13, mean fidelity loss on
test pairs, and the Stage-1 annotator reliabilities when present) is written to
``<workdir>/eval/report.json`` with a scatter plot of predictions against MOS.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from biqa_jax import checkpoints, inference, losses, metrics, models
from biqa_jax.data import pipeline

STAGE_ORDER = ("stage2", "stage1")  # the latest stage first


def stage_dir(workdir: str, stage: str) -> str:
  return os.path.join(workdir, stage, "checkpoints")


def find_checkpoint_dir(path: str) -> str:
  """The checkpoint folder to read: ``path`` itself, or the latest stage's folder in a workdir."""
  path = os.path.abspath(path)
  if not os.path.isdir(path):
    raise checkpoints.CheckpointError(
        f"checkpoint path {path} does not exist; pass a training --workdir or its "
        "<stage>/checkpoints folder.")
  for stage in STAGE_ORDER:
    candidate = stage_dir(path, stage)
    if os.path.isdir(candidate) and any(n.isdigit() for n in os.listdir(candidate)):
      return candidate
  if any(n.isdigit() for n in os.listdir(path)):
    return path
  raise checkpoints.CheckpointError(
      f"no checkpoint found in {path}: expected numbered step folders in it or in "
      f"{path}/stage2/checkpoints or {path}/stage1/checkpoints. Train first (mode=train), or "
      "point to the workdir of a finished run.")


def params_template(model_params: Any, meta: dict) -> dict:
  """The saved ``params`` tree: the model, plus annotator reliabilities for a Stage-1 checkpoint."""
  template = {"model": model_params}
  if meta.get("annotators"):
    num = len(meta["annotators"])
    template["annotators"] = {"alpha_logit": np.zeros(num, np.float32),
                              "beta_logit": np.zeros(num, np.float32)}
  return template


def load_trained_model(path: str) -> tuple[Callable, Any, dict]:
  """``(apply_fn, model_params, meta)`` from a workdir or checkpoint folder; no optimiser."""
  directory = find_checkpoint_dir(path)
  ckpt = checkpoints.Checkpointer(directory, read_only=True)
  meta = ckpt.restore_meta()
  if "model" not in meta:
    raise checkpoints.CheckpointError(f"checkpoint {directory} has no model config in its meta.")
  apply_fn, template = models.functional(models.build_model(meta["model"]))
  params, _, meta = ckpt.restore(None, params=params_template(template, meta))
  ckpt.close()
  return apply_fn, params, meta


def test_metrics(apply_fn: Callable, model_params: Any, datasets: pipeline.Datasets,
                 batch_size: int, fidelity_eps: float = losses.FIDELITY_EPS,
                 progress: bool = False) -> tuple[dict, np.ndarray]:
  """``(metrics, predictions [N_test])`` on the full-size test images."""
  image_set, idx = datasets.image_set, datasets.test_indices
  pred = inference.predict(apply_fn, model_params, [image_set.images[i] for i in idx], batch_size,
                           progress=progress)
  result = metrics.evaluate_all(pred, image_set.mos[idx])
  by_image = np.full(len(image_set), np.nan, np.float32)
  by_image[idx] = pred
  tp = datasets.test_pairs
  p_w = losses.thurstone_prob(jnp.asarray(by_image[tp.x]), jnp.asarray(by_image[tp.y]))
  result["fidelity"] = float(jnp.mean(losses.fidelity_loss(p_w, jnp.asarray(tp.labels),
                                                           eps=fidelity_eps)))
  result["num_images"] = int(len(idx))
  return result, pred


def evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Restores the latest checkpoint in ``workdir`` and writes ``<workdir>/eval/report.json``."""
  apply_fn, params, meta = load_trained_model(workdir)
  datasets = pipeline.load_datasets(config)
  result, pred = test_metrics(apply_fn, params["model"], datasets, config.eval.batch_size,
                              config.stage2.fidelity_eps, progress=True)
  result.update(stage=meta["stage"], step=meta["step"])
  if "annotators" in params:
    alpha, beta = losses.reliabilities(params["annotators"]["alpha_logit"],
                                       params["annotators"]["beta_logit"])
    result["annotators"] = {name: {"alpha": float(a), "beta": float(b)}
                            for name, a, b in zip(meta["annotators"], alpha, beta)}
  out = os.path.join(workdir, "eval")
  os.makedirs(out, exist_ok=True)
  checkpoints.save_json(os.path.join(out, "report.json"), result)
  mos = datasets.image_set.mos[datasets.test_indices]
  plot_scatter(pred, mos, os.path.join(out, "scatter.png"),
               title=f"{meta['stage']} step {meta['step']}: SRCC {result['srcc']:.3f}, "
                     f"PLCC {result['plcc']:.3f}")
  logging.info("evaluation of %s step %d: %s", meta["stage"], meta["step"], result)
  return result


def plot_scatter(pred: np.ndarray, mos: np.ndarray, path: str, title: str) -> None:
  """Predictions vs MOS with the fitted logistic of Eq. 13."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  eta = metrics.fit_logistic(pred, mos)
  grid = np.linspace(pred.min(), pred.max(), 200)
  fig, ax = plt.subplots(figsize=(5, 4))
  ax.scatter(pred, mos, s=12, alpha=0.7)
  ax.plot(grid, metrics.logistic_4(grid, *eta), color="C1", label="logistic fit (Eq. 13)")
  ax.set_xlabel("predicted quality f_w(x)")
  ax.set_ylabel("MOS")
  ax.set_title(title, fontsize=9)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
