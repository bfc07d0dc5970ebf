"""Checkpoints: kill-and-resume equality, evaluation without an optimiser, and bad checkpoints."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO_ROOT, smoke_config, smoke_flags

from biqa_jax import checkpoints, evaluate, train


def _main(workdir, *flags):
  return [sys.executable, "-m", "biqa_jax.main", f"--workdir={workdir}", *flags]


def _run(cmd, **kw):
  return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, **kw)


def _train_records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [r for r in map(json.loads, f) if r["split"] == "train"]


@pytest.mark.slow
def test_sigkilled_run_resumes_to_the_same_final_params_as_an_uninterrupted_run(tmp_path):
  flags = smoke_flags(stage1_steps=10, stage2_steps=4)
  straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
  done = _run(_main(straight, *flags))
  assert done.returncode == 0, done.stderr[-3000:]

  proc = subprocess.Popen(_main(killed, *flags), cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  first = os.path.join(killed, "stage1", "checkpoints", "2")
  deadline = time.time() + 300
  while not os.path.isdir(first) and proc.poll() is None and time.time() < deadline:
    time.sleep(0.01)
  still_running = proc.poll() is None
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert still_running, "the run ended before it could be killed mid-way"
  steps_at_kill = sorted(int(s) for s in os.listdir(os.path.dirname(first)) if s.isdigit())
  assert steps_at_kill and steps_at_kill[-1] < 10, steps_at_kill
  assert not os.path.exists(os.path.join(killed, "stage2"))

  resumed = _run(_main(killed, *flags))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert "resumed from step" in resumed.stderr

  _, p_straight, _ = evaluate.load_trained_model(straight)
  _, p_killed, _ = evaluate.load_trained_model(killed)
  flat_a = {k: np.asarray(v) for k, v in _flatten(p_straight).items()}
  flat_b = {k: np.asarray(v) for k, v in _flatten(p_killed).items()}
  assert flat_a.keys() == flat_b.keys()
  for key in flat_a:
    np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)
  assert _train_records(straight) == _train_records(killed)


def _flatten(tree, prefix=""):
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f"{prefix}{k}/"))
    else:
      out[f"{prefix}{k}"] = v
  return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("trained"))
  config = smoke_config(stage1_steps=2, stage2_steps=2)
  train.train_and_evaluate(config, workdir)
  return workdir, config


def test_evaluate_restores_params_without_building_an_optimiser(trained, monkeypatch):
  workdir, config = trained
  import optax

  def forbidden(*args, **kwargs):
    raise AssertionError("evaluation must not build an optimiser")

  monkeypatch.setattr(optax, "adam", forbidden)
  monkeypatch.setattr(train, "make_optimizer", forbidden)
  result = evaluate.evaluate(config, workdir)
  final = json.load(open(os.path.join(workdir, "report.json")))
  # The training run's final report and a later evaluation agree.
  for key in ("srcc", "krcc", "plcc", "rmse", "fidelity"):
    assert result[key] == pytest.approx(final[key], rel=1e-6, abs=1e-6)
  assert result["stage"] == "stage2" and result["step"] == 2
  assert os.path.exists(os.path.join(workdir, "eval", "scatter.png"))


def test_stage1_checkpoint_reports_annotator_reliabilities_in_unit_interval(trained, tmp_path):
  workdir, config = trained
  only_stage1 = str(tmp_path / "s1")
  shutil.copytree(os.path.join(workdir, "stage1"), os.path.join(only_stage1, "stage1"))
  result = evaluate.evaluate(config, only_stage1)
  assert result["stage"] == "stage1"
  assert list(result["annotators"]) == list(config.stage1.annotators)
  for r in result["annotators"].values():
    assert 0.0 < r["alpha"] < 1.0 and 0.0 < r["beta"] < 1.0


def test_empty_checkpoint_directory_is_a_clear_error(tmp_path):
  with pytest.raises(checkpoints.CheckpointError, match="no checkpoint found"):
    evaluate.load_trained_model(str(tmp_path))
  with pytest.raises(checkpoints.CheckpointError, match="does not exist"):
    evaluate.load_trained_model(str(tmp_path / "nowhere"))


def test_corrupt_checkpoint_is_a_clear_error_naming_the_step_folder(trained, tmp_path):
  workdir, _ = trained
  broken = str(tmp_path / "broken")
  shutil.copytree(workdir, broken)
  step_dir = os.path.join(broken, "stage2", "checkpoints", "2")
  for root, _, files in os.walk(os.path.join(step_dir, "params")):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"\x00garbage")
  with pytest.raises(checkpoints.CheckpointError, match=r"(?s)could not be read.*Delete the folder"):
    evaluate.load_trained_model(broken)


def test_checkpoint_of_another_architecture_fails_listing_both_shapes(trained):
  workdir, config = trained
  narrow = smoke_config(stage1_steps=2, stage2_steps=2)
  narrow.model.channels = 16
  ckpt = checkpoints.Checkpointer(os.path.join(workdir, "stage2", "checkpoints"), read_only=True)
  from biqa_jax import models
  _, template = models.functional(models.build_model(narrow.model))
  with pytest.raises(checkpoints.CheckpointError, match=r"conv1.*kernel.*\(3, 3, 3, 48\) vs model \(3, 3, 3, 16\)"):
    ckpt.restore(None, params={"model": template})


def test_training_into_a_workdir_of_another_architecture_fails_loudly(trained, tmp_path):
  workdir, _ = trained
  other = str(tmp_path / "other")
  shutil.copytree(workdir, other)
  config = smoke_config(stage1_steps=2, stage2_steps=4)
  config.model.hidden = 64
  with pytest.raises(checkpoints.CheckpointError, match="different architecture"):
    train.train_and_evaluate(config, other)


def test_unknown_config_key_is_rejected_with_its_name(tmp_path):
  out = _run(_main(str(tmp_path), "--config=configs/baseline.py:smoke", "--config.stage2.no_such_key=3"))
  assert out.returncode != 0
  assert "no_such_key" in out.stderr


def test_main_evaluate_mode_writes_a_report(trained):
  workdir, _ = trained
  out = _run(_main(workdir, "--config=configs/baseline.py:smoke", "--config.mode=evaluate"))
  assert out.returncode == 0, out.stderr[-3000:]
  report = json.load(open(os.path.join(workdir, "eval", "report.json")))
  assert report["stage"] == "stage2" and -1.0 <= report["srcc"] <= 1.0
