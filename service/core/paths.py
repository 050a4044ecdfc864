"""Where things are in a checkout: the repository root, the committed model, the shared SemEval data.

The one definition of these paths for the service, the tooling (loadtests/), the scripts and the tests.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the folder holding the `service` package
DEFAULT_MODEL_DIR = REPO / "models" / "default"
DATA_DIR = REPO.parent / "shared" / "data" / "semeval2017-task4a"  # the labelled SemEval-2017 Task 4A files
