"""Container HEALTHCHECK: healthy once GET /readyz answers 200 (the model is loaded and warmed up)."""

import os
import sys
import urllib.request

port = os.environ.get("SENTIMENT_PORT", "3000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=4) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception as e:  # any failure means "not healthy (yet)"
    print(f"not ready: {e}", file=sys.stderr)
    sys.exit(1)
