"""The model registry: versioned artifacts, manifests with checksums, model cards, promote
and rollback.

The names load their modules on first use (PEP 562): the registry store imports the
forecasters (scikit-learn, LightGBM), which ``hotspots --help`` must not wait for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotspots.registry.card import model_card
    from hotspots.registry.store import LoadedModel, ModelSummary, Registry, VersionInfo

_WHERE = {
    "model_card": "card",
    "LoadedModel": "store",
    "ModelSummary": "store",
    "Registry": "store",
    "VersionInfo": "store",
}
__all__ = [
    "LoadedModel",
    "ModelSummary",
    "Registry",
    "VersionInfo",
    "model_card",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
