"""Analytics by line of business and drug flag, so the CMS-0057-F report counts its scope only.

CMS-0057-F governs Medicare Advantage, Medicaid/CHIP and exchange plans and
excludes drugs. The facts gain the request's ``line_of_business`` and ``drug``
(specialty-drug category or an NDC-coded line), and both become rollup
dimensions, after urgency, so the report and the dashboard can filter on them.

The analytics tables hold derived data only: the upgrade recreates them with the
new columns and key and refills them from the request documents (line of business
and lines) and the events, as migration 0003 did. The downgrade sums the rollups
over the two dimensions back into the 0003 key (no recomputation needed) and drops
the facts' two columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_DIMENSIONS = ["month", "payer_id", "category", "urgency"]
_NEW_DIMENSIONS = [*_OLD_DIMENSIONS, "line_of_business", "drug"]
#: (table, the key column after the label, the summed column)
_ROLLUPS = (("analytics_counts", "detail", "value"), ("analytics_observations", "value", "count"))


def _last(table: str) -> sa.Column[object]:
    if table == "analytics_counts":
        return sa.Column("detail", sa.String(length=200), nullable=False)
    return sa.Column("value", sa.Integer(), nullable=False)


def _create_rollup(table: str, last: str, amount: str, *, scoped: bool) -> None:
    """A rollup table keyed measure first, then the dimensions (with the new two if scoped)."""
    columns: list[sa.Column[object]] = [
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        _last(table),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
    ]
    if scoped:
        columns += [
            sa.Column("line_of_business", sa.String(length=32), nullable=False),
            sa.Column("drug", sa.Boolean(), nullable=False),
        ]
    dimensions = _NEW_DIMENSIONS if scoped else _OLD_DIMENSIONS
    op.create_table(
        table,
        *columns,
        sa.Column(amount, sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "measure", "label", last, *dimensions, name=op.f(f"pk_{table}")
        ),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    """Recreate the analytics tables with line of business and drug flag (``migrate.upgrade``
    refills them from the event ledger)."""
    for table, last, amount in _ROLLUPS:
        op.drop_table(table)
        _create_rollup(table, last, amount, scoped=True)
    op.drop_index("ix_analytics_facts_org_due", table_name="analytics_facts")
    op.drop_table("analytics_facts")
    op.create_table(
        "analytics_facts",
        sa.Column("authorization_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("line_of_business", sa.String(length=32), nullable=False),
        sa.Column("drug", sa.Boolean(), nullable=False),
        sa.Column("cohort_month", sa.Date(), nullable=True),
        sa.Column("decision_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("authorization_id", name=op.f("pk_analytics_facts")),
    )
    op.create_index(
        "ix_analytics_facts_org_due",
        "analytics_facts",
        ["organization_id", "decision_due_at"],
        unique=False,
    )


def downgrade() -> None:
    """Fold the rollups back into the 0003 key and drop the facts' two columns."""
    bind = op.get_bind()
    for table, last, amount in _ROLLUPS:
        key = ["organization_id", "measure", "label", last, *_OLD_DIMENSIONS]
        source = sa.table(table, *(sa.column(name) for name in [*key, amount]))
        rows = [
            dict(row._mapping)
            for row in bind.execute(
                sa.select(
                    *(source.c[name] for name in key), sa.func.sum(source.c[amount]).label(amount)
                ).group_by(*(source.c[name] for name in key))
            )
        ]
        op.drop_table(table)
        _create_rollup(table, last, amount, scoped=False)
        if rows:
            target = sa.table(table, *(sa.column(name) for name in [*key, amount]))
            bind.execute(sa.insert(target), rows)
    with op.batch_alter_table("analytics_facts") as batch:
        batch.drop_column("drug")
        batch.drop_column("line_of_business")
