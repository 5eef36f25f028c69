# The two commands a new machine needs; each sets up what it uses first.
#   make run    the main job
#   make test   the test suite, with lint and type checks
.PHONY: run test setup lint lock validate

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/mlops up

validate: setup
	.venv/bin/mlops validate

test: setup lint
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy mlops_dsl components tests bench __main__.py
	.venv/bin/lint-imports --no-cache

# Refresh constraints.txt after changing dependency ranges in pyproject.toml.
lock: setup
	.venv/bin/python -m pip freeze --exclude-editable | grep -v '^mlops-dsl' > constraints.txt
