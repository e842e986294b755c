"""Editable templates in the database, kept in step with the shipped files.

Each (message, language) has a row; rows nobody edited (``is_default``) follow the shipped
file, so an upgrade that improves a template reaches them, while an edited row stays as the
operator left it (the admin can reset it).
"""

from __future__ import annotations

from .catalog import MESSAGES
from .models import MessageTemplate
from .rendering import LOCALES, default_source


def sync_templates() -> int:
    """Create missing rows and refresh unedited ones. Returns rows written."""
    existing = {(row.key, row.locale): row for row in MessageTemplate.objects.all()}
    written = 0
    for key in MESSAGES:
        for locale in LOCALES:
            source = default_source(key, locale)
            row = existing.get((key, locale))
            if row is None:
                MessageTemplate.objects.create(key=key, locale=locale, subject=source.subject, html=source.html,
                                               text=source.text, is_default=True)
                written += 1
            elif row.is_default and (row.subject, row.html, row.text) != (source.subject, source.html, source.text):
                row.subject, row.html, row.text = source.subject, source.html, source.text
                row.save(update_fields=["subject", "html", "text"])
                written += 1
    return written
