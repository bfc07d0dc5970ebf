"""``python -m biqa_jax.subjective …`` (see :mod:`biqa_jax.subjective.cli`)."""

import sys

from biqa_jax.subjective.cli import main

sys.exit(main())
