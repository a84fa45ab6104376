"""Tokens: shown once, stored hashed, scoped, revocable, expiring."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.gateway import Tier, TokenRejected, TokenStore


def test_only_the_hash_is_stored(tmp_path: Path) -> None:
    store = TokenStore.at_path(tmp_path / "tokens.sqlite")
    info, secret = store.issue(tier=Tier.GREY, engagement="e")
    dump = "\n".join(sqlite3.connect(tmp_path / "tokens.sqlite").iterdump())
    assert secret not in dump
    assert secret.split("_", 2)[2] not in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump
    assert store.verify(secret).id == info.id


def test_verify_rejects_malformed_unknown_and_tampered(tmp_path: Path) -> None:
    store = TokenStore.at_path(tmp_path / "t.sqlite")
    _, secret = store.issue(tier=Tier.BLACK, engagement="e")
    for bad in [
        "",
        "Bearer",
        "asy_",
        "xyz_abc_def",
        "asy_ffffffffffff_" + secret.split("_", 2)[2],
        secret + "x",
    ]:
        with pytest.raises(TokenRejected):
            store.verify(bad)


def test_expired_token_is_rejected(tmp_path: Path) -> None:
    store = TokenStore.at_path(tmp_path / "t.sqlite")
    _, secret = store.issue(tier=Tier.BLACK, engagement="e", expires_in=timedelta(seconds=-1))
    with pytest.raises(TokenRejected, match="expired"):
        store.verify(secret)


def test_revocation_persists_across_store_instances(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    info, secret = TokenStore.at_path(path).issue(tier=Tier.WHITE, engagement="e", models=["m"])
    TokenStore.at_path(path).revoke(info.id)
    with pytest.raises(TokenRejected, match="revoked"):
        TokenStore.at_path(path).verify(secret)
    listed = TokenStore.at_path(path).list()
    assert [(t.id, t.status(), t.models) for t in listed] == [(info.id, "revoked", ("m",))]


def test_revoking_an_unknown_id_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no token"):
        TokenStore.at_path(tmp_path / "t.sqlite").revoke("nope")


def test_tiers_are_ordered() -> None:
    assert Tier.WHITE.allows(Tier.GREY) and Tier.GREY.allows(Tier.BLACK)
    assert not Tier.BLACK.allows(Tier.GREY) and not Tier.GREY.allows(Tier.WHITE)


def test_a_token_written_before_the_shared_token_code_still_verifies(tmp_path: Path) -> None:
    # the row as the gateway's own token code wrote it: asy_<12 hex>_<urlsafe secret>,
    # its sha256 in secret_hash
    store = TokenStore.at_path(tmp_path / "gateway.sqlite")
    secret = "asy_0123456789ab_" + "S" * 43
    with sqlite3.connect(tmp_path / "gateway.sqlite") as db:
        db.execute(
            "INSERT INTO gateway_tokens (id, secret_hash, tier, engagement, models, label, "
            "created_at, expires_at, revoked_at, max_requests, max_tokens, max_floats, "
            "rate_per_minute, used_requests, used_tokens, used_floats, reserved_requests, "
            "reserved_tokens, reserved_floats) VALUES (?, ?, 'grey', 'e', '[\"*\"]', NULL, "
            "'2026-01-01 00:00:00.000000', NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0)",
            ("0123456789ab", hashlib.sha256(secret.encode()).hexdigest()),
        )
    info = store.verify(secret)
    assert (info.id, info.tier, info.engagement) == ("0123456789ab", Tier.GREY, "e")
    with pytest.raises(TokenRejected):
        store.verify(secret[:-1] + "T")


def test_new_tokens_keep_the_asy_format(tmp_path: Path) -> None:
    store = TokenStore.at_path(tmp_path / "t.sqlite")
    info, secret = store.issue(tier=Tier.WHITE, engagement="e")
    prefix, token_id, rest = secret.split("_", 2)
    assert (prefix, token_id) == ("asy", info.id)
    assert len(token_id) == 12 and int(token_id, 16) >= 0
    assert len(rest) == 43
