"""The commitment guard: bank references of movements, origin and closing day of advances, reasons in the audit.

- `payment.ref`: the bank operation's own reference, the idempotency key of a disbursement or repayment;
- `advance.origin`: `plan` (recorded from the day's plan) or `manual` (terms typed in);
- `advance.closed_on`: the day a proposed or approved advance was rejected or superseded (as-of reads);
- `audit_log.reason`: why, for supersessions and for the treasurer's audited overrides (`--force --reason`).

Revision ID: 0003_guard
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_guard"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.add_column(sa.Column("ref", sa.String(64), nullable=True))
    with op.batch_alter_table("advance") as batch:
        batch.add_column(sa.Column("origin", sa.String(8), nullable=True))
        batch.add_column(sa.Column("closed_on", sa.Date, nullable=True))
    op.add_column("audit_log", sa.Column("reason", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("audit_log", "reason")
    with op.batch_alter_table("advance") as batch:
        batch.drop_column("closed_on")
        batch.drop_column("origin")
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("ref")
