"""A stand-in training run for the trigger's tests: waits, then writes a result like the trainer's.

Usage: standin_trainer.py SECONDS RESULT_FILE REASON
It also appends its reason to ``runs.log`` in the runs directory, so a test
can count how many runs really started and with which reasons.
"""

import json
import sys
import time
from pathlib import Path

seconds, result, reason = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ledger = result.parent.parent / "runs.log"
with open(ledger, "a") as handle:
    handle.write(reason + "\n")
time.sleep(seconds)
partial = result.with_suffix(".partial")
partial.write_text(json.dumps({"status": "succeeded", "outcome": "promoted", "version": "2", "reason": "stand-in run"}))
partial.replace(result)
