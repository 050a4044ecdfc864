"""Where the model is when the service runs from a built Bento (`make bento`, bentofile.yaml).

The model travels in the Bento as included files (``models/default`` next to the ``service`` package in the Bento's
``src/`` folder), not as a BentoML model-store entry: its manifest already carries the sha256 of every file and the
training metrics, and one loader (service.core.artifact.load_artifact) then reads ``--model DIR``, a mounted
volume and the Bento alike. ``bentoml serve`` imports the service from ``<bento>/src`` (locally
``$BENTOML_HOME/bentos/NAME/VERSION/src``, in a ``bentoml containerize`` image ``$BENTO_PATH/src``), so the
Bento is recognised by the ``bento.yaml`` BentoML writes one folder above it.
"""

from __future__ import annotations

import os
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]  # the folder holding the `service` package
BENTO_MODEL = Path("models") / "default"


def bento_model_dir(src: Path = SRC) -> Path | None:
    """The model directory inside the served Bento, or None outside a Bento (or when SENTIMENT_MODEL_DIR is set
    explicitly, e.g. to a mounted volume: an explicit setting wins over the model the Bento carries)."""
    if os.environ.get("SENTIMENT_MODEL_DIR"):
        return None
    if not (src.parent / "bento.yaml").is_file():
        return None
    model_dir = src / BENTO_MODEL
    return model_dir if (model_dir / "manifest.json").is_file() else None
