"""The model registry: versioned artifacts, manifests with checksums, model cards, promote
and rollback."""

from hotspots.registry.card import model_card
from hotspots.registry.store import LoadedModel, ModelSummary, Registry, VersionInfo

__all__ = ["LoadedModel", "ModelSummary", "Registry", "VersionInfo", "model_card"]
