"""The request log becomes a Merkle log (assay.attest's tables) with signed checkpoints.

Entries of the old hash-chained ``request_log`` are carried over in order, one leaf
each (kind ``assay.gateway.legacy-entry/v1``, the old row's fields, its chain hashes
included), so history written before the upgrade stays readable and covered by every
checkpoint signed after it. The old table is dropped.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from assay._util.hashing import canonical_json
from assay.attest import TLOG_METADATA, MerkleTree, create_tables, leaf_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEGACY_KIND = "assay.gateway.legacy-entry/v1"
_COLUMNS = (
    "seq",
    "at",
    "token_id",
    "engagement",
    "route",
    "model",
    "tier",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "floats",
    "commitment",
    "prev_hash",
    "entry_hash",
)


def upgrade() -> None:
    connection = op.get_bind()
    create_tables(connection)
    old = sa.Table("request_log", sa.MetaData(), autoload_with=connection)
    rows = connection.execute(sa.select(old).order_by(old.c.seq)).mappings().all()
    leaves = [
        canonical_json({"kind": LEGACY_KIND, **{c: row[c] for c in _COLUMNS}}) for row in rows
    ]
    if leaves:
        tables = TLOG_METADATA.tables
        hashes = [leaf_hash(d) for d in leaves]
        connection.execute(
            tables["tlog_leaves"].insert(),
            [
                {
                    "log": "gateway",
                    "idx": i,
                    "leaf_hash": h,
                    "data": d,
                    "tag": str(rows[i]["engagement"])[:200],
                    "added_at": str(rows[i]["at"]),
                }
                for i, (h, d) in enumerate(zip(hashes, leaves, strict=True))
            ],
        )
        tree = MerkleTree(hashes)
        nodes = []
        level, width = 1, 2
        while width <= len(hashes):
            for i in range(len(hashes) // width):
                nodes.append(
                    {"log": "gateway", "level": level, "idx": i, "hash": tree.node(level, i)}
                )
            level, width = level + 1, width * 2
        if nodes:
            connection.execute(tables["tlog_nodes"].insert(), nodes)
    op.drop_table("request_log")


def downgrade() -> None:
    raise NotImplementedError("the Merkle request log cannot be turned back into a hash chain")
