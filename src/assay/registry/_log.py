"""The registry's transparency log: the one Merkle log of :mod:`assay.attest`, behind
the few operations the registry needs.

Every accepted submission is appended as ``attestation_entry(statement)`` (the digest
of the signed statement, so co-signatures do not change it); every publication as a
``log_entry("assay.publication/v1", ...)``. The log signs its checkpoints with the
registry's log key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.attest import SigningKey, TransparencyLog, key_id, public_pem
from assay.attest import log_entry as _log_entry

PUBLICATION_KIND = "assay.publication/v1"


def publication_entry(kind: str, subject_id: int, statement_sha256: str, at: str) -> bytes:
    """The entry for making something public: what, which, and when."""
    from assay._util.hashing import canonical_json

    return _log_entry(
        PUBLICATION_KIND,
        canonical_json(
            {"kind": kind, "id": subject_id, "statement": statement_sha256, "published_at": at}
        ),
    )


class RegistryLog:
    """Append entries, serve signed checkpoints and proofs."""

    def __init__(self, path: Path, origin: str, key: SigningKey) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._log = TransparencyLog(path, origin=origin)
        self.key = key

    @property
    def origin(self) -> str:
        return self._log.origin

    @property
    def size(self) -> int:
        return self._log.size

    @property
    def public_key_pem(self) -> str:
        return public_pem(self.key.public_key)

    @property
    def key_id(self) -> str:
        return key_id(self.key.public_key)

    def append(self, data: bytes) -> int:
        return self._log.append(data)

    def find(self, data: bytes) -> int | None:
        return self._log.find(data)

    def entry(self, index: int) -> bytes:
        return self._log.entry(index)

    def checkpoint(self) -> dict[str, Any]:
        return self._log.checkpoint().sign([self.key])

    def inclusion_proof(self, index: int, size: int | None) -> list[bytes]:
        return self._log.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None) -> list[bytes]:
        return self._log.consistency_proof(old_size, new_size)

    def proof_bundle(self, index: int, old_size: int | None) -> dict[str, Any]:
        return self._log.proof_bundle(index, [self.key], old_size=old_size)

    def close(self) -> None:
        self._log.close()
