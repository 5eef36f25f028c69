"""Batch scoring: a whole input data set scored with a model's production version (``mlops batch``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_dsl.loading.loader import ResolvedSpec
from mlops_dsl.runtime.registry import PRODUCTION, ModelRegistry
from mlops_dsl.runtime.server.app import class_labels, predict
from mlops_dsl.runtime.state import StatePaths, source_path
from mlops_dsl.spec.feature_store import Source
from mlops_dsl.spec.platform import Model
from mlops_dsl.spec.problems import Problem, SpecError, got_allowed

log = logging.getLogger("mlops.batch")


def batch_job(spec: ResolvedSpec, model_name: str, source: str | None, target: str | None) -> tuple[Model, str, str]:
    """The model and where to read and write: the flags, else the model's ``serving.batch`` section."""
    model = next((m for m in spec.platform.models if m.name == model_name), None)
    if model is None:
        raise SpecError([Problem("--model", got_allowed(model_name, "a model of the spec"), source="mlops batch")])
    declared = model.serving.batch
    source = source or (declared.input if declared else None)
    target = target or (declared.output if declared else None)
    if not source or not target:
        raise SpecError(
            [
                Problem(
                    "--input/--output",
                    got_allowed(None, f"paths, or a serving.batch section for model {model_name!r}"),
                    source="mlops batch",
                )
            ]
        )
    return model, source, target


def score(model: Model, source: str, target: str, paths: StatePaths) -> Path:
    """Score ``source`` with the model's production version; returns the scores file written under ``target``."""
    registry = ModelRegistry(paths.registry_uri())
    version = registry.alias_version(model.name, PRODUCTION)
    if version is None:
        raise SpecError([Problem("--model", f"model {model.name!r} has no version in production yet", source="mlops batch")])
    loaded = registry.load(model.name, version)
    frame = pd.read_parquet(source_path(Source(name="batch_input", path=source), paths.data_root))
    missing = [column for column in loaded.inputs if column not in frame.columns]
    if missing:
        raise SpecError(
            [
                Problem(
                    "--input",
                    f"the input lacks column(s) {', '.join(missing)} that model {model.name} v{version} needs",
                    source="mlops batch",
                )
            ]
        )
    outputs = predict(loaded, frame[loaded.inputs].to_numpy(dtype=float))
    columns: dict[str, Any] = {}
    for name, _, values in outputs:
        if values.ndim == 2:  # a multiclass model's probabilities: one column per class, named after it
            _, classes = class_labels(loaded)
            columns.update({f"probability_{label}": values[:, i] for i, label in enumerate(classes.tolist())})
        else:
            columns[name] = values
    scored = frame.assign(**columns, model_version=version)
    out = Path(source_path(Source(name="batch_output", path=target), paths.data_root))
    out.mkdir(parents=True, exist_ok=True)
    written = out / f"scores-{datetime.now(UTC):%Y%m%d-%H%M%S}.parquet"
    scored.to_parquet(written, index=False)
    log.info("scored %d rows with %s v%s into %s", len(scored), model.name, version, out)
    return written
