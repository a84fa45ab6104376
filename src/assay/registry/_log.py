"""The registry's transparency log: :class:`assay.attest.TransparencyLog` (the one
Merkle log of assay) stored in the registry's own database, under the log name
``registry``, its checkpoints C2SP signed notes under the registry's log key.

Every accepted submission is appended as ``attestation_entry(statement)`` (the digest
of the signed statement, so co-signatures do not change it); every publication as a
``log_entry("assay.publication/v1", ...)`` naming the statement and the moment.

Appends commit in their own transaction, before the rows that refer to them: an
accepted submission is never stored without its log entry. (A crash between the two
leaves an entry without a record in ``log_records``; a monitor sees it as such.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from assay._util.hashing import canonical_json
from assay.attest import SigningKey, TransparencyLog, key_id, log_entry, public_pem, verifier_key

LOG_NAME = "registry"
PUBLICATION_KIND = "assay.publication/v1"


def publication_entry(subject_type: str, statement_sha256: str, at: str) -> bytes:
    """The entry for making something public: what, which statement, and when."""
    return log_entry(
        PUBLICATION_KIND,
        canonical_json(
            {"subject": subject_type, "statement": statement_sha256, "published_at": at}
        ),
    )


class RegistryLog:
    """Append entries, serve signed checkpoints and proofs."""

    def __init__(self, engine: Engine, origin: str, key: SigningKey) -> None:
        self._log = TransparencyLog(engine, origin, name=LOG_NAME)
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

    @property
    def verifier_key(self) -> str:
        """The note verifier key (``name+id+key``) witnesses configure."""
        return verifier_key(self.origin, self.key.public_key)

    def append_many(self, entries: list[bytes], tag: str) -> int:
        """Append in one transaction; returns the index of the first."""
        return self._log.append_many(entries, tag=tag)

    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        return list(self._log.entries(start, stop))

    def checkpoint(self) -> str:
        """The current tree head as a C2SP checkpoint note signed by the log key."""
        return self._log.signed_checkpoint([self.key])

    def root(self, size: int | None = None) -> bytes:
        return self._log.root(size)

    def find(self, entry: bytes) -> int | None:
        """The index of an entry with exactly these bytes, if the log has one."""
        return self._log.find(entry)

    def inclusion_proof(self, index: int, size: int | None) -> list[bytes]:
        return self._log.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None) -> list[bytes]:
        return self._log.consistency_proof(old_size, new_size)

    def proof_bundle(self, index: int, old_size: int | None) -> dict[str, Any]:
        return self._log.proof_bundle(index, [self.key], old_size=old_size)

    def close(self) -> None:
        self._log.close()
