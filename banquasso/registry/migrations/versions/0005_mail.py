"""Delivery by e-mail: what was sent to whom (banquasso.delivery.records).

Revision ID: 0005_mail
Revises: 0003_guard
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_mail"
down_revision = "0004_law"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_sent",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mail_sent"),
        sa.UniqueConstraint("kind", "key", "recipient", name="uq_mail_sent_kind_key_recipient"),
    )


def downgrade() -> None:
    op.drop_table("mail_sent")
