"""Rate limits live in the database, shared by every gateway process (replicas).

``gateway_tokens`` gains ``rate_tat``: the token's theoretical arrival time (GCRA),
seconds since the epoch by the database's clock; ``NULL`` until the token is first
rate-limited. See ``assay.gateway._tokens.TokenStore.take_rate``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_tokens") as batch:
        batch.add_column(sa.Column("rate_tat", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gateway_tokens") as batch:
        batch.drop_column("rate_tat")
