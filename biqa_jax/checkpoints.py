"""Orbax checkpoints: save/resume a training stage, restore parameters for evaluation.

A checkpoint (one step folder under ``<workdir>/<stage>/checkpoints``) holds three items:

* ``params``       the trainable pytree (``{"model": ..., "annotators": ...}`` in Stage 1);
* ``train_state``  optimiser state + the JAX RNG key data;
* ``meta``         JSON: stage, step, data-iterator position (epoch, index in epoch), seed and the
                   model config, so scoring and evaluation can rebuild the network without the
                   experiment's config file.

Evaluation restores ``params`` and ``meta`` only, so it never builds the optimiser. Orbax writes
each step to a temporary folder and renames it when complete, so a run killed mid-save leaves the
previous checkpoint as the latest.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint that is missing, unreadable, or does not match the model."""


def _shape_tree(tree: Any) -> dict[str, tuple[int, ...]]:
  leaves = jax.tree_util.tree_leaves_with_path(tree)
  return {jax.tree_util.keystr(p): tuple(getattr(x, "shape", ())) for p, x in leaves}


def check_matches(directory: str, step: int, saved: Any, expected: Any, item: str) -> None:
  """Raises :class:`CheckpointError` listing every leaf whose path or shape differs."""
  have, want = _shape_tree(saved), _shape_tree(expected)
  problems = []
  for key in sorted(set(have) | set(want)):
    if key not in have:
      problems.append(f"  {key}: missing in checkpoint (model expects {want[key]})")
    elif key not in want:
      problems.append(f"  {key}: in checkpoint {have[key]}, not in the model")
    elif have[key] != want[key]:
      problems.append(f"  {key}: checkpoint {have[key]} vs model {want[key]}")
  if problems:
    shown = "\n".join(problems[:20]) + ("\n  ..." if len(problems) > 20 else "")
    raise CheckpointError(
        f"checkpoint {directory} (step {step}, item {item!r}) does not match the model:\n{shown}\n"
        "It was written by a different architecture or config; point to the right workdir, or "
        "use a new --workdir to train from scratch.")


class Checkpointer:
  """Thin wrapper over ``ocp.CheckpointManager`` for one training stage."""

  def __init__(self, directory: str, *, save_every_steps: int = 1, max_to_keep: int | None = 3,
               read_only: bool = False):
    self.directory = os.path.abspath(directory)
    if read_only and not os.path.isdir(self.directory):
      raise CheckpointError(f"no checkpoint directory {self.directory}; train first or fix the path.")
    options = ocp.CheckpointManagerOptions(
        save_interval_steps=save_every_steps, max_to_keep=max_to_keep, create=not read_only,
        read_only=read_only, enable_async_checkpointing=False)
    # Handlers named up front so a fresh process can read metadata before its first restore.
    self._manager = ocp.CheckpointManager(
        self.directory, options=options,
        item_handlers=dict(params=ocp.StandardCheckpointHandler(),
                           train_state=ocp.StandardCheckpointHandler(),
                           meta=ocp.JsonCheckpointHandler()))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, *, params: Any, train_state: Any, meta: dict, force: bool = False) -> bool:
    saved = self._manager.save(
        step, force=force,
        args=ocp.args.Composite(params=ocp.args.StandardSave(params),
                                train_state=ocp.args.StandardSave(train_state),
                                meta=ocp.args.JsonSave(meta)))
    self._manager.wait_until_finished()
    return saved

  def _step_or_latest(self, step: int | None) -> int:
    step = self.latest_step() if step is None else step
    if step is None:
      raise CheckpointError(f"no checkpoint found in {self.directory} (the folder is empty); "
                            "train first, or point to the workdir of a finished run.")
    return step

  def restore_meta(self, step: int | None = None) -> dict:
    step = self._step_or_latest(step)
    try:
      return dict(self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta)
    except Exception as e:  # Orbax raises many types for unreadable files.
      raise _corrupt(self.directory, step, "meta", e) from e

  def restore(self, step: int | None, *, params: Any, train_state: Any | None = None):
    """Restores ``(params, train_state, meta)`` shaped like the given templates.

    With ``train_state=None`` only params and meta are read (evaluation: no optimiser).
    """
    step = self._step_or_latest(step)
    try:
      metadata = self._manager.item_metadata(step)
      saved_params = metadata["params"]
    except Exception as e:
      raise _corrupt(self.directory, step, "params", e) from e
    if saved_params is None:
      raise _corrupt(self.directory, step, "params", FileNotFoundError("no params item"))
    check_matches(self.directory, step, saved_params, params, "params")
    items = dict(params=ocp.args.StandardRestore(_abstract(params)), meta=ocp.args.JsonRestore())
    if train_state is not None:
      # The optimiser state mirrors params (already checked); Orbax's metadata spells its
      # NamedTuple nodes differently from the live tree, so it is not compared path by path.
      items["train_state"] = ocp.args.StandardRestore(_abstract(train_state))
    try:
      restored = self._manager.restore(step, args=ocp.args.Composite(**items))
    except CheckpointError:
      raise
    except Exception as e:
      raise _corrupt(self.directory, step, "params/train_state", e) from e
    return restored.params, (restored.train_state if train_state is not None else None), dict(restored.meta)

  def close(self) -> None:
    self._manager.close()


def _abstract(tree: Any) -> Any:
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype)
                      if not isinstance(x, jax.Array) else jax.ShapeDtypeStruct(x.shape, x.dtype), tree)


def _corrupt(directory: str, step: int, item: str, error: Exception) -> CheckpointError:
  return CheckpointError(
      f"checkpoint {directory}/{step} could not be read (item {item!r}): "
      f"{type(error).__name__}: {str(error)[:300]}\n"
      f"The files are damaged or incomplete. Delete the folder {directory}/{step} to fall back to "
      "the previous checkpoint, or start over with a new --workdir.")


def save_json(path: str, obj: Any) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True)
  os.replace(tmp, path)
