"""The approval as the law wants it: the board's meeting date and body, and the borrower's own decision.

- `advance.decision_date`, `advance.decision_body`: the day and the body (conseil d'administration,
  bureau, assemblée générale) of the lender's decision, approved like a *convention réglementée*
  (code de commerce L612-5, article R511-2-1-4 of the Code monétaire et financier);
- `advance.borrower_decision`, `advance.borrower_decision_date`, `advance.borrower_body`: the same
  for the borrower, when both boards approve.

Revision ID: 0004_law
Revises: 0003_guard
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_law"
down_revision = "0003_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("advance") as batch:
        batch.add_column(sa.Column("decision_date", sa.Date, nullable=True))
        batch.add_column(sa.Column("decision_body", sa.String(128), nullable=True))
        batch.add_column(sa.Column("borrower_decision", sa.String(128), nullable=True))
        batch.add_column(sa.Column("borrower_decision_date", sa.Date, nullable=True))
        batch.add_column(sa.Column("borrower_body", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("advance") as batch:
        batch.drop_column("borrower_body")
        batch.drop_column("borrower_decision_date")
        batch.drop_column("borrower_decision")
        batch.drop_column("decision_body")
        batch.drop_column("decision_date")
