import json
import logging

import pytest

from citybrain.core import configure_logging, get_logger, run_context
from citybrain.core.logging import new_run_id


def test_json_lines_carry_the_run_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_format=True)
    with run_context("20261125T000000Z-abcdef01"):
        get_logger("ingest").info("loaded", extra={"source": "water", "rows": 12})
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["run_id"] == "20261125T000000Z-abcdef01"
    assert record["logger"] == "citybrain.ingest"
    assert record["source"] == "water"
    assert record["rows"] == 12


def test_text_lines_outside_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING")
    log = get_logger("citybrain.test")
    log.info("hidden")
    log.warning("shown 中文")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "[-] citybrain.test: shown 中文" in err
    logging.getLogger("citybrain").handlers.clear()


def test_run_ids_sort_in_the_order_they_were_made() -> None:
    """`latest_findings` and `citybrain runs` take the greatest id as the newest run."""
    ids = [new_run_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
