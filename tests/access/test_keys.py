"""API keys: what is stored, authentication, revocation seen by a running store, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest

from hotspots.access import keys
from hotspots.access.keys import SCOPES, KeyStore, split_key
from hotspots.errors import ConfigError, IntegrityError


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "state" / "keys.json")


def _secret(key: str) -> str:
    parts = split_key(key)
    assert parts is not None
    return parts[1]


def test_create_stores_only_the_sha256_of_the_secret(store: KeyStore) -> None:
    record, key = store.create("  dashboard ", ["models:admin", "forecasts:read"])
    assert key.startswith(f"hs_{record.id}_")
    secret = key[len(f"hs_{record.id}_") :]
    assert len(secret) == 43  # token_urlsafe(32): 32 random bytes
    assert record.name == "dashboard"
    assert record.scopes == ("forecasts:read", "models:admin")  # canonical order
    assert record.revoked_at is None and not record.revoked
    text = store.path.read_text()
    assert key not in text and secret not in text
    rows = json.loads(text)["keys"]
    assert rows == [
        {
            "id": record.id,
            "name": "dashboard",
            "scopes": ["forecasts:read", "models:admin"],
            "hash": hashlib.sha256(secret.encode()).hexdigest(),
            "created": record.created,
            "revoked_at": None,
        }
    ]


def test_store_file_is_private(store: KeyStore) -> None:
    store.create("a", ["forecasts:read"])
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    store.create("b", ["events:write"])  # rewritten atomically, still private
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["keys.json"]  # no temp left


def test_keys_are_distinct(store: KeyStore) -> None:
    (a, key_a), (b, key_b) = store.create("a", SCOPES), store.create("b", SCOPES)
    assert a.id != b.id and _secret(key_a) != _secret(key_b)
    assert [r.id for r in store.list()] == [a.id, b.id]


def test_authenticate(store: KeyStore) -> None:
    record, key = store.create("app", ["forecasts:read"])
    other, _ = store.create("other", ["events:write"])
    assert store.authenticate(key) == record
    assert store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    # the right secret under another key's id is refused
    assert store.authenticate(f"hs_{other.id}_{_secret(key)}") is None
    assert store.authenticate(f"hs_kdeadbeef_{_secret(key)}") is None
    assert store.authenticate(_secret(key)) is None
    assert store.authenticate("") is None


def test_scopes_do_not_imply_each_other(store: KeyStore) -> None:
    record, _ = store.create("admin", ["models:admin"])
    assert record.has("models:admin")
    assert not record.has("forecasts:read") and not record.has("events:write")


def test_every_path_makes_exactly_one_constant_time_comparison(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, key = store.create("app", ["forecasts:read"])
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    presented = [key, f"hs_{record.id}_wrong", f"hs_knope_{_secret(key)}", "garbage"]
    results = [store.authenticate(k) for k in presented]
    assert results == [record, None, None, None]
    assert len(calls) == 4
    assert calls[0][1] == calls[1][1] == record.hash
    # unknown id and malformed key still compare a 64-hex digest, against the dummy hash
    assert calls[2][1] == calls[3][1] == keys._DUMMY_HASH
    assert all(len(a) == len(b) == 64 for a, b in calls)


def test_revoke_and_revoked_key_fails(store: KeyStore) -> None:
    record, key = store.create("app", ["forecasts:read"])
    revoked = store.revoke(record.id)
    assert revoked.revoked and revoked.id == record.id
    assert store.authenticate(key) is None
    again = store.revoke(record.id)
    assert again.revoked_at == revoked.revoked_at  # idempotent, first time kept
    assert store.list() == [revoked]


def test_running_store_sees_changes_made_by_another(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = KeyStore(store.path)
    record, key = store.create("app", ["forecasts:read"])
    assert server.authenticate(key) == record
    reads: list[int] = []
    real_read = KeyStore._read

    def counting_read(self: KeyStore) -> dict[str, keys.KeyRecord]:
        if self is server:
            reads.append(1)
        return real_read(self)

    monkeypatch.setattr(KeyStore, "_read", counting_read)
    for _ in range(3):  # file unchanged: the cache serves, no re-read
        assert server.authenticate(key) == record
    assert reads == []
    store.revoke(record.id)  # e.g. `hotspots keys revoke` in another process
    assert server.authenticate(key) is None
    assert reads == [1]
    new, new_key = store.create("new", ["events:write"])
    assert server.authenticate(new_key) == new


def test_missing_file_means_no_keys(store: KeyStore) -> None:
    assert store.list() == []
    assert store.authenticate("hs_k1_abc") is None
    assert not store.path.exists()


@pytest.mark.parametrize(
    ("name", "scopes", "needle"),
    [
        ("app", ["forecasts:write"], "'forecasts:write'"),
        ("app", "forecasts:reed", "'forecasts:reed'"),
        ("   ", ["forecasts:read"], "'   '"),
        ("app", [], "at least one scope"),
    ],
)
def test_bad_create_names_the_value(
    store: KeyStore, name: str, scopes: list[str], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle):
        store.create(name, scopes)
    assert not store.path.exists()


def test_revoke_unknown_id_names_it(store: KeyStore) -> None:
    record, _ = store.create("app", ["forecasts:read"])
    with pytest.raises(ConfigError, match=rf"'k0'.*{record.id}"):
        store.revoke("k0")


def test_corrupt_store_is_an_integrity_error(store: KeyStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text('{"keys": [{"id": "k1"}]}')
    with pytest.raises(IntegrityError, match="keys.json"):
        store.authenticate("hs_k1_secret")


def test_split_key() -> None:
    assert split_key("hs_k12_ab_c-d") == ("k12", "ab_c-d")
    assert split_key("hs_k12_") is None
    assert split_key("hs__abc") is None
    assert split_key("xx_k12_abc") is None
