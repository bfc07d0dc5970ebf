"""Subjective test of the gMAD pairs (method.md §7): rating web app, BT.500 screening, MOS.

Data flow: gMAD writes a *selection* folder (``manifest.json`` + images; the format is defined and
validated in :mod:`~biqa_jax.subjective.study`) → ``create`` copies it into a *study* folder with a
SQLite database (:mod:`~biqa_jax.subjective.storage`) → raters rate the pairs in the web app
(:mod:`~biqa_jax.subjective.app`, templates in :mod:`~biqa_jax.subjective.pages`) → ``screen``
applies the ITU-R BT.500 observer screening and writes MOS and std per image
(:mod:`~biqa_jax.subjective.screening`, :mod:`~biqa_jax.subjective.results`), which active
fine-tuning reads. Without people, :mod:`~biqa_jax.subjective.simulated` gives the same output
from a panel of simulated raters driven by an oracle quality.

Command line (:mod:`~biqa_jax.subjective.cli`)::

    python -m biqa_jax.subjective create --from SELECTION_DIR --study STUDY_DIR
    python -m biqa_jax.subjective add-rater --study STUDY_DIR          # prints the rater's link
    python -m biqa_jax.subjective serve --study STUDY_DIR [--port 8000]   # on 127.0.0.1
    python -m biqa_jax.subjective export --study STUDY_DIR --out ratings.csv
    python -m biqa_jax.subjective screen --study STUDY_DIR --out mos.csv

Nothing here imports JAX; the web app needs Flask and waitress only.
"""
