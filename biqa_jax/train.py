"""Stage 1 (D1, multi-annotator MLE, Eq. 5-6) and Stage 2 (D2, fidelity loss, Eq. 8-9).

Each stage is one loop over jit-compiled steps ``(params, opt_state, batch) -> (params,
opt_state, loss)`` with ``optax.chain(adam(lr), gdn_projection(lb))``. Resume order, per stage:
a checkpoint in ``<workdir>/<stage>/checkpoints`` -> else the previous stage's final parameters
-> else a fresh initialisation. A stage whose last checkpoint is its final step is not re-run.

Written to ``workdir``: ``metrics.jsonl`` (one JSON object per log/eval event), ``curves.png``
(loss and test SRCC/PLCC per stage) and ``report.json`` (final test metrics).
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from tqdm.auto import tqdm

from biqa_jax import checkpoints, constraints, evaluate, losses, models
from biqa_jax.data import pipeline


def make_optimizer(learning_rate: float, gdn_lower_bound: float) -> optax.GradientTransformation:
  """Adam followed by the GDN projection (method.md §1-§3)."""
  return optax.chain(optax.adam(learning_rate), constraints.gdn_projection(gdn_lower_bound))


def stage1_loss(apply_fn: Callable, params: Any, images_x, images_y, labels) -> jnp.ndarray:
  """Mean over pairs of ``-log L_i`` (Eq. 6); model and annotator reliabilities jointly."""
  f = apply_fn(params["model"], jnp.concatenate([images_x, images_y]))
  f_x, f_y = jnp.split(f, 2)
  a = params["annotators"]
  return jnp.mean(losses.annotator_nll(f_x, f_y, labels, a["alpha_logit"], a["beta_logit"]))


def stage2_loss(apply_fn: Callable, params: Any, images_x, images_y, labels,
                eps: float = losses.FIDELITY_EPS) -> jnp.ndarray:
  """Mean fidelity loss (Eq. 9) between ``p_w`` and the Eq.-7 labels."""
  f = apply_fn(params["model"], jnp.concatenate([images_x, images_y]))
  f_x, f_y = jnp.split(f, 2)
  return jnp.mean(losses.fidelity_loss(losses.thurstone_prob(f_x, f_y), labels, eps=eps))


def make_train_step(loss_fn: Callable, tx: optax.GradientTransformation) -> Callable:
  """jit-compiled ``(params, opt_state, x_uint8, y_uint8, labels) -> (params, opt_state, loss)``."""

  @jax.jit
  def train_step(params, opt_state, images_x, images_y, labels):
    to_float = lambda im: im.astype(jnp.float32) / 255.0
    loss, grads = jax.value_and_grad(loss_fn)(params, to_float(images_x), to_float(images_y),
                                              labels)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  return train_step


class MetricsLog:
  """``metrics.jsonl``: appends records; on resume drops the stage's records past the checkpoint,
  so a killed-and-resumed run has the same log as an uninterrupted one."""

  def __init__(self, path: str):
    self.path = path

  def rewind(self, stage: str, step: int) -> None:
    if not os.path.exists(self.path):
      return
    with open(self.path) as f:
      records = [json.loads(line) for line in f if line.strip()]
    keep = [r for r in records if not (r["stage"] == stage and r["step"] > step)]
    with open(self.path + ".tmp", "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in keep)
    os.replace(self.path + ".tmp", self.path)

  def write(self, record: dict) -> None:
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
      f.flush()

  def read(self) -> list[dict]:
    if not os.path.exists(self.path):
      return []
    with open(self.path) as f:
      return [json.loads(line) for line in f if line.strip()]


def _model_meta(config: ml_collections.ConfigDict) -> dict:
  return json.loads(config.model.to_json())


def run_stage(stage: str, config: ml_collections.ConfigDict, datasets: pipeline.Datasets,
              workdir: str, init_model_params: Any, apply_fn: Callable, log: MetricsLog) -> Any:
  """Trains one stage to completion (resuming if possible); returns the final model params."""
  scfg = config[stage]
  stage_pairs = datasets.d1 if stage == "stage1" else datasets.d2
  per_epoch = pipeline.steps_per_epoch(len(stage_pairs), scfg.batch_size)
  total_steps = scfg.num_epochs * per_epoch
  pipeline.check_crop_size(datasets.image_set, datasets.train_indices, config.data.crop_size)

  # A fresh initialisation (gamma = 0.1 I has off-diagonal zeros) is made feasible before the
  # first step, so every iterate -- not only those after an update -- satisfies the constraints.
  params = {"model": constraints.project_gdn_params(init_model_params, config.model.gdn_lower_bound)}
  if stage == "stage1":
    init = losses.reliability_init_logit(config.stage1.reliability_init)
    num = len(config.stage1.annotators)
    params["annotators"] = {"alpha_logit": jnp.full((num,), init, jnp.float32),
                            "beta_logit": jnp.full((num,), init, jnp.float32)}
    loss_fn = lambda p, x, y, q: stage1_loss(apply_fn, p, x, y, q)
  else:
    eps = config.stage2.fidelity_eps
    loss_fn = lambda p, x, y, g: stage2_loss(apply_fn, p, x, y, g, eps)
  tx = make_optimizer(scfg.learning_rate, config.model.gdn_lower_bound)
  opt_state = tx.init(params)

  ckpt = checkpoints.Checkpointer(evaluate.stage_dir(workdir, stage),
                                  save_every_steps=config.checkpoint_every_steps,
                                  max_to_keep=config.checkpoints_to_keep)
  step = 0
  if ckpt.latest_step() is not None:
    params, train_state, meta = ckpt.restore(None, params=params, train_state={"opt_state": opt_state})
    opt_state, step = train_state["opt_state"], int(meta["step"])
    logging.info("%s: resumed from step %d of %d (%s)", stage, step, total_steps, ckpt.directory)
  log.rewind(stage, step)

  def meta_at(s: int) -> dict:
    epoch, position = divmod(s, per_epoch)
    meta = {"stage": stage, "step": s, "total_steps": total_steps, "epoch": epoch,
            "position_in_epoch": position, "seed": config.seed, "model": _model_meta(config)}
    if stage == "stage1":
      meta["annotators"] = list(config.stage1.annotators)
    return meta

  train_step = make_train_step(loss_fn, tx)
  window = []
  with tqdm(total=total_steps, initial=step, desc=stage, unit="step", dynamic_ncols=True) as bar:
    while step < total_steps:
      x, y, labels = pipeline.training_batch(stage, config.seed, step, datasets, scfg.batch_size,
                                             config.data.crop_size)
      params, opt_state, loss = train_step(params, opt_state, x, y, labels)
      step += 1
      window.append(loss)
      bar.update(1)
      if step % config.log_every_steps == 0 or step == total_steps:
        mean_loss = float(np.mean(jax.device_get(window)))
        if not np.isfinite(mean_loss):
          raise FloatingPointError(
              f"{stage}: training loss became {mean_loss} at step {step}; lower "
              f"config.{stage}.learning_rate or check the labels. The last good checkpoint is in "
              f"{ckpt.directory}.")
        log.write({"stage": stage, "step": step, "split": "train", "loss": mean_loss})
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        window = []
      if step % config.eval.every_steps == 0 or step == total_steps:
        result, _ = evaluate.test_metrics(apply_fn, params["model"], datasets,
                                          config.eval.batch_size, config.stage2.fidelity_eps)
        log.write({"stage": stage, "step": step, "split": "test", **result})
        logging.info("%s step %d: test %s", stage, step, result)
      if step % config.checkpoint_every_steps == 0 or step == total_steps:
        ckpt.save(step, params=params, train_state={"opt_state": opt_state}, meta=meta_at(step),
                  force=step == total_steps)
  ckpt.close()
  return params["model"]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Runs the configured stages in order, then writes the final test report and curves."""
  os.makedirs(workdir, exist_ok=True)
  checkpoints.save_json(os.path.join(workdir, "config.json"), json.loads(config.to_json()))
  datasets = pipeline.load_datasets(config)
  logging.info("data: %d images (%d train / %d test), D1 %s pairs, D2 %s pairs",
               len(datasets.image_set), len(datasets.train_indices), len(datasets.test_indices),
               len(datasets.d1) if datasets.d1 else 0, len(datasets.d2) if datasets.d2 else 0)
  model = models.build_model(config.model, seed=config.seed)
  apply_fn, model_params = models.functional(model)
  log = MetricsLog(os.path.join(workdir, "metrics.jsonl"))
  for stage in config.stages:
    if stage not in pipeline.STAGE_IDS:
      raise ValueError(f"unknown stage {stage!r} in config.stages; known: {sorted(pipeline.STAGE_IDS)}.")
    model_params = run_stage(stage, config, datasets, workdir, model_params, apply_fn, log)
  result, pred = evaluate.test_metrics(apply_fn, model_params, datasets, config.eval.batch_size,
                                       config.stage2.fidelity_eps)
  checkpoints.save_json(os.path.join(workdir, "report.json"), result)
  plot_curves(log.read(), os.path.join(workdir, "curves.png"))
  evaluate.plot_scatter(pred, datasets.image_set.mos[datasets.test_indices],
                        os.path.join(workdir, "scatter.png"),
                        title=f"test split: SRCC {result['srcc']:.3f}, PLCC {result['plcc']:.3f}")
  logging.info("final test metrics: %s", result)
  return result


def plot_curves(records: list[dict], path: str) -> None:
  """Training loss and test SRCC/PLCC against step, one column per stage."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  stages = list(dict.fromkeys(r["stage"] for r in records))
  if not stages:
    return
  fig, axes = plt.subplots(2, len(stages), figsize=(5 * len(stages), 6), squeeze=False)
  for col, stage in enumerate(stages):
    train = [r for r in records if r["stage"] == stage and r["split"] == "train"]
    test = [r for r in records if r["stage"] == stage and r["split"] == "test"]
    ax = axes[0, col]
    ax.plot([r["step"] for r in train], [r["loss"] for r in train])
    ax.set_title(f"{stage}: training loss ({'-log L, Eq. 6' if stage == 'stage1' else 'fidelity, Eq. 9'})",
                 fontsize=9)
    ax.set_xlabel("step")
    ax = axes[1, col]
    for key in ("srcc", "plcc"):
      ax.plot([r["step"] for r in test], [r[key] for r in test], marker="o", label=key.upper())
    ax.set_title(f"{stage}: test split", fontsize=9)
    ax.set_xlabel("step")
    ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
