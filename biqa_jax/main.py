"""Entry point: ``python -m biqa_jax.main --config=configs/baseline.py --workdir=DIR``.

``--config.mode=train`` (default) runs the configured stages, resuming from the latest checkpoint
in ``--workdir``; ``--config.mode=evaluate`` restores the latest checkpoint and reports metrics.
Any config field can be overridden on the command line, e.g. ``--config.stage2.num_epochs=2``.
"""

from absl import app, flags, logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and reports.")
config_flags.DEFINE_config_file("config", None, "Experiment config file (configs/*.py).",
                                lock_config=True)
flags.mark_flags_as_required(["config", "workdir"])


def _quiet_orbax(record) -> bool:
  """Orbax logs every file it writes at INFO; keep its warnings and errors only."""
  return record.levelno >= logging.WARNING or "/orbax/" not in record.pathname


def main(argv):
  logging.get_absl_handler().addFilter(_quiet_orbax)
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go through --config.<field>=.")
  # Imported here so --help and flag errors answer before JAX starts.
  from biqa_jax import evaluate, train

  config = FLAGS.config
  logging.info("config:\n%s", config)
  if config.mode == "train":
    train.train_and_evaluate(config, FLAGS.workdir)
  elif config.mode == "evaluate":
    evaluate.evaluate(config, FLAGS.workdir)
  else:
    raise app.UsageError(f"--config.mode={config.mode!r}; use 'train' or 'evaluate'.")


if __name__ == "__main__":
  app.run(main)
