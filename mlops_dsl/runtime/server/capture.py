"""Request/response data capture: a sample of live traffic, as JSON lines, per model and day.

Captured rows are what quality monitoring joins with ground-truth labels (by
the entity keys a request sends, such as ``customer_id``), and what an analyst
looks at after a drift alert.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from mlops_dsl.spec.serving import DataCapture


class Capture:
    """Append a sampled share of requests (and/or responses) to ``<root>/<model>/<date>.jsonl``."""

    def __init__(self, root: Path, settings: DataCapture, seed: int | None = None) -> None:
        self.root = root
        self.settings = settings
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def sampled(self) -> bool:
        """Whether to capture this request."""
        return self.settings.enabled and self._random.random() * 100 < self.settings.sampling_percent

    def write(
        self,
        model: str,
        version: str,
        request_id: str | None,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        keys: dict[str, list[Any]] | None = None,
    ) -> None:
        """Record one captured exchange; ``keys`` are the entity keys the request sent, one per row."""
        now = datetime.now(UTC)
        record: dict[str, Any] = {"time": now.isoformat(), "model": model, "version": version, "id": request_id}
        if keys:
            # Whatever the capture mode: without its keys a prediction can never meet its label.
            record["keys"] = keys
        if "request" in self.settings.capture:
            record["inputs"] = inputs
        if "response" in self.settings.capture:
            record["outputs"] = outputs
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        folder = self.root / model
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{now:%Y-%m-%d}.jsonl", "ab") as handle:
                handle.write(line)
