"""Attestations: signed in-toto statements over audit results, and their verification."""

from assay.attest._dsse import EnvelopeError, add_signature, pae, sign_envelope, verify_envelope
from assay.attest._keys import (
    SigningKey,
    key_id,
    keys_dir,
    load_key,
    load_or_create_key,
    load_public_key,
    public_pem,
)
from assay.attest._statement import PREDICATE_TYPE, STATEMENT_TYPE, attest_audit, audit_statement
from assay.attest._verify import Check, Verification, verify_attestation

__all__ = [
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Check",
    "EnvelopeError",
    "SigningKey",
    "Verification",
    "add_signature",
    "attest_audit",
    "audit_statement",
    "key_id",
    "keys_dir",
    "load_key",
    "load_or_create_key",
    "load_public_key",
    "pae",
    "public_pem",
    "sign_envelope",
    "verify_attestation",
    "verify_envelope",
]
