"""Access: API keys and the audit log, used by the CLI (``hotspots keys``, ``hotspots audit``)
and by the service alike.

Below ``service`` and ``cli``: nothing here knows HTTP. The key store hashes secrets and
follows its file (``fswatch``); the audit log appends one JSON line per request.
"""

from hotspots.access.audit import AUDIT_FILE, AuditLog, AuditRecord
from hotspots.access.keys import KEYS_FILE, SCOPES, KeyRecord, KeyStore, split_key

__all__ = [
    "AUDIT_FILE",
    "KEYS_FILE",
    "SCOPES",
    "AuditLog",
    "AuditRecord",
    "KeyRecord",
    "KeyStore",
    "split_key",
]
