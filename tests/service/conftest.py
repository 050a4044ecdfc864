import os
from pathlib import Path

import pytest

if os.environ.get("WT5_TINY"):

    @pytest.fixture(scope="session")
    def tiny_model():
        return Path(os.environ["WT5_TINY"]).resolve()
