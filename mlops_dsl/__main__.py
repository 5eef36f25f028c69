"""``python -m mlops_dsl`` runs the ``mlops`` command line."""

from mlops_dsl.cli.main import run

run()
