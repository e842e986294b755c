"""The owner's engagement pages in the admin: milestones defined and changed through services,
notes and tasks added on a customer (by id or e-mail), tasks marked done, events listed read-only."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from factories import make_customer, start_clock, utc

from assina.engagement.models import CustomerNote, OnboardingMilestone, Task
from assina.engagement.services import record_events
from assina.events.models import Event

pytestmark = pytest.mark.django_db


def test_the_owner_defines_milestones_and_writes_notes_and_tasks():
    start_clock(utc(2027, 1, 10))
    owner = User.objects.create_superuser("owner", password="x")
    client = Client()
    client.force_login(owner)
    ana = make_customer(email="ana@example.com")
    page = client.post("/admin/engagement/onboardingmilestone/add/", {"name": "First report", "event_name": "report_exported",
                                                                      "due_days": 7, "first_value": "on", "position": 1})
    assert page.status_code == 302, page.content.decode()[:2000]
    milestone = OnboardingMilestone.objects.get()
    assert (milestone.event_name, milestone.due_days, milestone.first_value) == ("report_exported", 7, True)
    again = client.post("/admin/engagement/onboardingmilestone/add/", {"name": "Twice", "event_name": "report_exported",
                                                                       "due_days": 3, "position": 0})
    assert again.status_code == 200 and "already watches" in again.content.decode()
    client.post(f"/admin/engagement/onboardingmilestone/{milestone.pk}/change/",
                {"name": "First report", "due_days": 10, "first_value": "on", "position": 1, "active": "on"})
    assert OnboardingMilestone.objects.get().due_days == 10
    assert Event.objects.filter(type="onboarding_milestone.updated").get().data == {"due_days": 10}

    assert client.post("/admin/engagement/customernote/add/", {"customer": "ANA@example.com", "kind": "call",
                                                               "body": "Asked for an invoice copy"}).status_code == 302
    note = CustomerNote.objects.get()
    assert (note.customer_id, note.kind, note.author_id) == (ana.pk, "call", owner.pk)
    missing = client.post("/admin/engagement/customernote/add/", {"customer": "cus_999999", "kind": "note", "body": "x"})
    assert missing.status_code == 200 and CustomerNote.objects.count() == 1

    assert client.post("/admin/engagement/task/add/", {"customer": f"cus_{ana.pk}", "title": "Send the copy"}).status_code == 302
    task = Task.objects.get()
    client.post("/admin/engagement/task/", {"action": "mark_done", "_selected_action": [task.pk]})
    assert Task.objects.get().done_at == utc(2027, 1, 10)

    record_events([("e1", ana.pk, "report_exported", utc(2027, 1, 9), None, {"format": "pdf"})])
    listing = client.get("/admin/engagement/engagementevent/")
    assert listing.status_code == 200 and "report_exported" in listing.content.decode()
    assert client.get("/admin/engagement/engagementevent/add/").status_code == 403
    for path in ("customernote", "task", "onboardingmilestone"):
        assert client.get(f"/admin/engagement/{path}/").status_code == 200
