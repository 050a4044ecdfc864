"""What every engine says about the model it scored with: the ``model_version`` of the rows and the fingerprint a
resumed job must match (shared by the local, via-API and Ray engines, so none imports another)."""

from __future__ import annotations

from typing import Any

from service.core.artifact import Artifact


def scored_version(artifact: Artifact) -> str:
    """The ``model_version`` of every output row: int8 answers are marked (``+int8``) on every engine."""
    return artifact.manifest.version + ("+int8" if artifact.precision == "int8" else "")


def model_fingerprint(artifact: Artifact) -> dict[str, Any]:
    """Name, version, precision, weights sha256 and file hashes: a resume with another model is refused."""
    m = artifact.manifest
    return {
        "name": m.name,
        "version": m.version,
        "precision": artifact.precision,
        "sha256": artifact.weights_sha256,
        "files": dict(m.files),
    }
