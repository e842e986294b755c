"""The owner's theme pages in the admin: split a theme (chosen keywords, and the comments that
use them, move to a new theme) and "you asked, we did" with a confirmation step, both refused
to a staff user who may not change themes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from test_feedback_themes import corpus  # noqa: F401 (the labelled comments, themed)

from assina.feedback.models import SurveyResponse, Theme
from assina.feedback.themes import ranked_themes, refresh
from assina.time import now

pytestmark = pytest.mark.django_db


def _client(*codenames: str) -> Client:
    user = User.objects.create_user(f"u{User.objects.count()}", password="x", is_staff=True)
    for codename in ("view_theme", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="feedback"))
    client = Client()
    client.force_login(user)
    return client


def _ids(theme_slug: str) -> set[int]:
    return {i for t in ranked_themes() if t["theme"] == theme_slug for i in t["response_ids"]}


def test_splitting_a_theme_moves_the_chosen_keywords_and_their_comments(corpus):  # noqa: F811
    bugs = Theme.objects.get(slug="bugs")
    before = _ids("bugs")
    owner = _client("change_theme")
    page = owner.get(f"/admin/feedback/theme/{bugs.pk}/change/")
    assert page.status_code == 200 and f'/admin/feedback/theme/{bugs.pk}/split/' in page.content.decode()
    assert _client().get(f"/admin/feedback/theme/{bugs.pk}/split/").status_code == 403
    # Moving every keyword is a rename, not a split: refused, nothing changed.
    every = owner.post(f"/admin/feedback/theme/{bugs.pk}/split/", {
        "name_en": "All", "keywords_en": bugs.keywords_en, "keywords_pt_br": bugs.keywords_pt_br})
    assert every.status_code == 200 and "leave at least one keyword" in every.content.decode()
    assert not Theme.objects.filter(name_en="All").exists()
    assert Theme.objects.get(pk=bugs.pk).keywords_en == bugs.keywords_en
    done = owner.post(f"/admin/feedback/theme/{bugs.pk}/split/", {
        "name_en": "App closes by itself", "name_pt_br": "App fecha sozinho",
        "keywords_en": ["crash", "crashes", "crashed"], "keywords_pt_br": ["fecha sozinho"]})
    assert done.status_code == 302
    new = Theme.objects.get(name_en="App closes by itself")
    assert new.keywords_en == ["crash", "crashes", "crashed"] and new.keywords_pt_br == ["fecha sozinho"]
    bugs.refresh_from_db()
    assert "crash" not in bugs.keywords_en and "fecha sozinho" not in bugs.keywords_pt_br and "trava" in bugs.keywords_pt_br
    refresh(now())
    moved, kept = _ids(new.slug), _ids("bugs")
    texts = dict(SurveyResponse.objects.filter(pk__in=before).values_list("pk", "comment"))
    assert moved and kept and moved | kept == before
    assert all("fecha sozinho" not in texts[i] for i in kept)
    assert all("fecha sozinho" in texts[i] or "crash" in texts[i].lower() for i in moved)
    assert all("trava" not in texts[i] for i in moved)


def test_you_asked_we_did_from_the_admin_asks_to_confirm_then_tells_each_customer_once(corpus):  # noqa: F811
    from assina.notifications.models import Message

    bugs = Theme.objects.get(slug="bugs")
    customers = set(ranked_themes()[0]["customer_ids"])
    url = f"/admin/feedback/theme/{bugs.pk}/announce/"
    notes = {"note_en": "The app no longer crashes on upload.", "note_pt": "O app não trava mais ao enviar fotos."}
    assert _client().get(url).status_code == 403
    assert _client().post(url, {**notes, "confirmed": "yes"}).status_code == 403
    assert not Message.objects.filter(template="theme_addressed").exists()
    owner = _client("change_theme")
    page = owner.get(url).content.decode()
    assert re.search(rf"\b{len(customers)} customers raised Bugs and reliability", page)
    confirm = owner.post(url, notes)
    assert confirm.status_code == 200 and 'id="announce-send"' in confirm.content.decode()
    assert not Message.objects.filter(template="theme_addressed").exists()  # nothing sent before the confirmation
    assert Theme.objects.get(pk=bugs.pk).addressed_at is None
    empty = owner.post(url, {"note_en": "", "note_pt": "x", "confirmed": "yes"})
    assert empty.status_code == 200 and not Message.objects.filter(template="theme_addressed").exists()
    sent = owner.post(url, {**notes, "confirmed": "yes"})
    assert sent.status_code == 302
    messages = Message.objects.filter(template="theme_addressed")
    assert set(messages.values_list("customer_id", flat=True)) == customers
    assert Theme.objects.get(pk=bugs.pk).addressed_at is not None
    assert owner.post(url, {**notes, "confirmed": "yes"}).status_code == 302  # a second submit tells nobody twice
    assert messages.count() == len(customers)
