"""SQL store of documentation answers and attachments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from precert.adapters.db.documentation_tables import attachments as a
from precert.adapters.db.documentation_tables import documentation_answers as d
from precert.domain.documentation import Attachment
from precert.domain.errors import NotFound


def _attachment(row: Any) -> Attachment:
    return Attachment(
        row.id,
        row.authorization_id,
        row.item_id,
        row.filename,
        row.content_type,
        row.size,
        row.sha256,
        row.uploaded_at,
        row.uploaded_by,
    )


class SqlDocumentation:
    """Answers per (request, item) and attached documents."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def answers(self, organization_id: str, authorization_id: str) -> dict[str, dict[str, Any]]:
        """Stored answers (JSON values) by item id."""
        rows = self._db.execute(
            select(d.c.item_id, d.c.answers).where(
                d.c.organization_id == organization_id, d.c.authorization_id == authorization_id
            )
        )
        return {row.item_id: dict(row.answers) for row in rows}

    def save_answers(
        self,
        organization_id: str,
        authorization_id: str,
        item_id: str,
        questionnaire: str,
        answers: Mapping[str, object],
        at: datetime,
        by: str,
    ) -> None:
        """Replace the answers of one item."""
        self._db.execute(
            delete(d).where(d.c.authorization_id == authorization_id, d.c.item_id == item_id)
        )
        self._db.execute(
            insert(d).values(
                authorization_id=authorization_id,
                item_id=item_id,
                organization_id=organization_id,
                questionnaire=questionnaire,
                answers=dict(answers),
                updated_at=at,
                updated_by=by,
            )
        )

    def attachment_counts(self, organization_id: str, authorization_id: str) -> dict[str, int]:
        """How many documents are filed under each item."""
        rows = self._db.execute(
            select(a.c.item_id, func.count())
            .where(a.c.organization_id == organization_id, a.c.authorization_id == authorization_id)
            .group_by(a.c.item_id)
        )
        return {item_id: int(count) for item_id, count in rows}

    def add_attachment(self, attachment: Attachment, organization_id: str, content: bytes) -> bool:
        """Store a document; False when the same bytes are already filed under the item."""
        try:
            with self._db.begin_nested():
                self._db.execute(
                    insert(a).values(
                        id=attachment.id,
                        organization_id=organization_id,
                        authorization_id=attachment.authorization_id,
                        item_id=attachment.item_id,
                        filename=attachment.filename,
                        content_type=attachment.content_type,
                        size=attachment.size,
                        sha256=attachment.sha256,
                        content=content,
                        uploaded_at=attachment.uploaded_at,
                        uploaded_by=attachment.uploaded_by,
                    )
                )
        except IntegrityError:
            return False
        return True

    def attachments(self, organization_id: str, authorization_id: str) -> Sequence[Attachment]:
        """The request's documents (without their bytes), oldest first."""
        rows = self._db.execute(
            select(*[c for c in a.c if c.name != "content"])
            .where(a.c.organization_id == organization_id, a.c.authorization_id == authorization_id)
            .order_by(a.c.uploaded_at, a.c.id)
        )
        return [_attachment(r) for r in rows]

    def attachment(self, organization_id: str, attachment_id: str) -> tuple[Attachment, bytes]:
        """One document and its bytes; another organization's id is simply not found."""
        row = self._db.execute(
            select(a).where(a.c.organization_id == organization_id, a.c.id == attachment_id)
        ).one_or_none()
        if row is None:
            raise NotFound(f"attachment {attachment_id} not found")
        return _attachment(row), bytes(row.content)
