"""Training: the jitted steps optimise the paper's objectives; stages chain and resume."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import smoke_config

from biqa_jax import constraints, losses, models, train
from biqa_jax.data import pipeline


@pytest.fixture(scope="module")
def datasets():
  return pipeline.load_datasets(smoke_config())


@pytest.fixture(scope="module")
def net():
  return models.functional(models.build_model(smoke_config().model))


def _batch(datasets, stage, step, size=4):
  return pipeline.training_batch(stage, 0, step, datasets, size, 32)


def test_stage2_loss_equals_mean_fidelity_of_thurstone_probs(datasets, net):
  apply_fn, params = net
  x, y, g = _batch(datasets, "stage2", 0)
  xf, yf = x / 255.0, y / 255.0
  loss = train.stage2_loss(apply_fn, {"model": params}, xf, yf, g)
  f_x, f_y = apply_fn(params, xf), apply_fn(params, yf)
  p = losses.thurstone_prob(f_x, f_y)
  expected = np.mean(1 - np.sqrt(p * g + 1e-8) - np.sqrt((1 - p) * (1 - g) + 1e-8))
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_stage1_loss_equals_mean_annotator_nll(datasets, net):
  apply_fn, params = net
  x, y, q = _batch(datasets, "stage1", 0)
  annot = {"alpha_logit": jnp.array([2.0, 1.0, 0.5]), "beta_logit": jnp.array([1.5, 0.0, -1.0])}
  loss = train.stage1_loss(apply_fn, {"model": params, "annotators": annot}, x / 255.0, y / 255.0, q)
  nll = losses.annotator_nll(apply_fn(params, x / 255.0), apply_fn(params, y / 255.0), q,
                             annot["alpha_logit"], annot["beta_logit"])
  np.testing.assert_allclose(loss, np.mean(nll), rtol=1e-5)


def test_repeated_stage2_steps_on_one_batch_reduce_its_loss_and_keep_gdn_feasible(datasets, net):
  apply_fn, params = net
  tx = train.make_optimizer(1e-3, 2.0**-10)
  state = {"model": params}
  opt = tx.init(state)
  step = train.make_train_step(lambda p, x, y, g: train.stage2_loss(apply_fn, p, x, y, g), tx)
  x, y, g = _batch(datasets, "stage2", 0, size=8)
  losses_seen = []
  for _ in range(30):
    state, opt, loss = step(state, opt, x, y, g)
    losses_seen.append(float(loss))
  assert losses_seen[-1] < 0.5 * losses_seen[0]
  for path, leaf in jax.tree_util.tree_leaves_with_path(state):
    if constraints.is_gdn_param(path, leaf):
      assert float(leaf.min()) >= 2.0**-10 * (1 - 1e-6)


def test_stage1_step_updates_annotator_reliabilities(datasets, net):
  apply_fn, params = net
  tx = train.make_optimizer(1e-2, 2.0**-10)
  init = losses.reliability_init_logit(0.9)
  state = {"model": params, "annotators": {"alpha_logit": jnp.full(3, init), "beta_logit": jnp.full(3, init)}}
  opt = tx.init(state)
  step = train.make_train_step(lambda p, x, y, q: train.stage1_loss(apply_fn, p, x, y, q), tx)
  x, y, q = _batch(datasets, "stage1", 0)
  new, _, _ = step(state, opt, x, y, q)
  assert not np.allclose(new["annotators"]["alpha_logit"], init)
  assert not np.allclose(new["annotators"]["beta_logit"], init)


def test_train_and_evaluate_writes_checkpoints_metrics_report_and_plots(tmp_path):
  config = smoke_config(stage1_steps=4, stage2_steps=4)
  workdir = str(tmp_path)
  result = train.train_and_evaluate(config, workdir)
  for stage in ("stage1", "stage2"):
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, stage, "checkpoints")) if s.isdigit())
    assert steps[-1] == 4
  records = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  assert [(r["stage"], r["step"]) for r in records if r["split"] == "train"] == [
      ("stage1", 2), ("stage1", 4), ("stage2", 2), ("stage2", 4)]
  assert {(r["stage"], r["step"]) for r in records if r["split"] == "test"} == {("stage1", 4), ("stage2", 4)}
  report = json.load(open(os.path.join(workdir, "report.json")))
  assert report == pytest.approx(result)
  assert set(report) >= {"srcc", "krcc", "plcc", "rmse", "fidelity"}
  for png in ("curves.png", "scatter.png"):
    with open(os.path.join(workdir, png), "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_finished_run_is_not_retrained_and_stage2_resumes_from_stage1(tmp_path):
  config = smoke_config(stage1_steps=2, stage2_steps=2)
  workdir = str(tmp_path)
  config.stages = ("stage1",)
  train.train_and_evaluate(config, workdir)
  mtime = os.path.getmtime(os.path.join(workdir, "stage1", "checkpoints", "2"))
  config.stages = ("stage1", "stage2")
  train.train_and_evaluate(config, workdir)
  assert os.path.getmtime(os.path.join(workdir, "stage1", "checkpoints", "2")) == mtime
  assert os.path.isdir(os.path.join(workdir, "stage2", "checkpoints", "2"))


def test_nonfinite_loss_stops_training_with_a_clear_error(tmp_path):
  config = smoke_config(stage1_steps=2, stage2_steps=2)
  config.stages = ("stage2",)
  config.stage2.learning_rate = float("nan")
  with pytest.raises(FloatingPointError, match="learning_rate"):
    train.train_and_evaluate(config, str(tmp_path))
