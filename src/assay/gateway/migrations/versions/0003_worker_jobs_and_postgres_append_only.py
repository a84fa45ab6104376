"""Fine-tuning jobs run in a worker process; the request log is append-only on PostgreSQL.

- ``finetune_jobs`` gains ``attempts`` (how many times a worker started the job),
  ``claimed_by`` (the gateway process running it) and ``heartbeat_at`` (when that
  process last showed it was alive), so a job whose worker or gateway died is found,
  and run again or failed, never left ``running`` forever.
- ``assay.attest.create_tables`` now also creates the append-only triggers on
  PostgreSQL; running it again adds them to databases migrated before (a no-op on
  SQLite, whose triggers revision 0002 created).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from assay.attest import create_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finetune_jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    create_tables(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("finetune_jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_by")
        batch.drop_column("attempts")
