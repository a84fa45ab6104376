"""The token helpers the registry shares with the gateway (`assay._util.tokens`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assay._util.tokens import (
    ACTIVE,
    EXPIRED,
    REVOKED,
    generate_token,
    hash_matches,
    token_hash,
    token_id,
    token_status,
)


def test_a_token_names_its_id_and_matches_only_its_own_hash() -> None:
    new = generate_token("asr")
    assert new.secret.startswith(f"asr_{new.id}_") and len(new.secret) > 50
    assert token_id(new.secret, "asr") == new.id
    assert new.hash == token_hash(new.secret) and new.secret not in new.hash
    assert hash_matches(new.hash, new.secret)
    assert not hash_matches(new.hash, new.secret + "x")
    assert not hash_matches(None, new.secret)  # unknown id: compared anyway, never true
    assert generate_token("asr").secret != new.secret


@pytest.mark.parametrize(
    "presented", ["asr_only-two", "asy_abc_def", "asr__secret", "asr_id_", "", "asr"]
)
def test_malformed_tokens_have_no_id(presented: str) -> None:
    assert token_id(presented, "asr") is None


def test_status_revocation_wins_then_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    past, future = now - timedelta(seconds=1), now + timedelta(days=1)
    assert token_status(revoked_at=None, expires_at=None, now=now) == ACTIVE
    assert token_status(revoked_at=None, expires_at=future, now=now) == ACTIVE
    assert token_status(revoked_at=None, expires_at=now, now=now) == EXPIRED
    assert token_status(revoked_at=future, expires_at=past, now=now) == REVOKED


def test_prefix_must_be_alphanumeric() -> None:
    with pytest.raises(ValueError, match="letters and digits"):
        generate_token("as_r")
