"""How grounded each logged answer was: the share of its sentences a cited passage supports, and how many
sentences were dropped as inventions (a number, name, command or URL no passage holds).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as table:
        table.add_column(sa.Column("supported", sa.Float, nullable=True))
        table.add_column(sa.Column("invented_sentences", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as table:
        table.drop_column("invented_sentences")
        table.drop_column("supported")
