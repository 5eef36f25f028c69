"""``python -m mlops_dsl`` runs the ``mlops`` command line."""

from mlops_dsl.cli import run

run()
