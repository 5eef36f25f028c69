"""The README's "Bring your own model" example, written out of the README as a reader would copy it, validated and trained.

Each code block of that section whose first line is ``# shop/<path>`` is a file
of the example. The spec validates, ``mlops data check`` accepts data laid out
as "Getting your data in" says, and the built-in trainer trains it, once with
the factory and once with the training function the README offers instead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_dsl.cli.main import main
from mlops_dsl.contracts.code import code_hash
from mlops_dsl.loading.loader import load_platform
from mlops_dsl.runtime.features import local_store
from mlops_dsl.runtime.registry import ModelRegistry
from mlops_dsl.runtime.trainer import train
from tests.conftest import ROOT

BLOCK = re.compile(r"```python\n# shop/(?P<path>\S+)\n(?P<body>.*?)```", re.S)


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    files = {match["path"]: match["body"] for match in BLOCK.finditer(section("Bring your own model"))}
    assert set(files) == {"platform.py", "src/shop_ml/features.py", "src/shop_ml/models.py", "src/shop_ml/training.py"}
    for relative, body in files.items():
        path = tmp_path / "shop" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    (tmp_path / "shop" / "src" / "shop_ml" / "__init__.py").write_text("")  # "(empty)", as the layout says
    return tmp_path / "shop" / "platform.py"


def write_data(data_root: Path, rows: int = 600) -> None:
    rng = np.random.default_rng(3)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    stamps = [start + timedelta(hours=i) for i in range(rows)]
    amounts = rng.gamma(2.0, 40.0, rows)
    counts = rng.poisson(4, rows).astype(float)
    orders = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "event_timestamp": [s.isoformat() for s in stamps],
            "last_order_amount": amounts,
            "orders_90d": counts,
        }
    )
    (data_root / "raw" / "orders").mkdir(parents=True)
    orders.to_csv(data_root / "raw" / "orders" / "part-0.csv", index=False)
    baskets = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "event_timestamp": pd.to_datetime([s + timedelta(days=7) for s in stamps], utc=True),
            "basket_amount": 10 + 0.8 * amounts + 5 * counts + rng.normal(0, 5, rows),
        }
    )
    (data_root / "raw" / "baskets").mkdir(parents=True)
    baskets.to_parquet(data_root / "raw" / "baskets" / "part-0.parquet", index=False)


@pytest.mark.parametrize("entrypoint", [None, "shop_ml.training.fit"])
def test_the_readme_example_validates_checks_its_data_and_trains(
    shop: Path, tmp_path: Path, entrypoint: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    if entrypoint is not None:
        text = shop.read_text()
        assert 'estimator="shop_ml.models.basket_pipeline",' in text
        shop.write_text(text.replace('estimator="shop_ml.models.basket_pipeline",', f"entrypoint={entrypoint!r},"))
    assert main(["validate", str(shop)]) == 0
    state = tmp_path / "state"
    write_data(state / "data")
    assert main(["data", "check", str(shop), "--data-dir", str(state / "data")]) == 0
    assert "data check passed" in capsys.readouterr().out
    spec = load_platform(shop, environment="local")["local"]
    registry = ModelRegistry.local(state)
    result = train(
        spec,
        "basket-size",
        registry=registry,
        store=local_store(spec.platform.feature_store, state / "feast", state / "data"),
        data_root=state / "data",
        trigger_reason="readme",
        run_id="readme-1",
    )
    assert (result.status, result.outcome) == ("succeeded", "promoted"), result.reason
    (version,) = registry.versions("basket-size")
    assert version.lineage["code_hash"] == code_hash(shop.parent / "src")
    assert version.metrics["r2"] > 0.2
