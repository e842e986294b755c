"""Staff rights on the custom pages, the throttled admin login and password validators (issue 14).

A staff account granted nothing sees no revenue figure, previews no campaign, sends no test
message and mints no API key (403, and no link to them); the matching permission opens each.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.accounts import ensure_admin
from assina.accounts.models import LoginThrottle
from assina.api.models import ApiKey
from assina.notifications.models import Campaign, MessageTemplate, Segment
from assina.notifications.template_store import sync_templates

pytestmark = pytest.mark.django_db
PASSWORD = "quite-a-long-secret-9"


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    # Each sign-in hashes a password: PBKDF2's deliberate slowness would make these tests slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _grant(user, *codenames: str) -> None:
    for full in codenames:
        app, codename = full.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


@pytest.fixture
def staff(django_user_model, client):
    user = django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True)
    client.force_login(user)
    return user


@pytest.fixture
def shop():
    start_clock(utc(2026, 11, 21, 9))
    make_plan("pro", 4990, name="Pro")
    subscribe(make_customer(email="ana@example.com", name="Ana Souza"), "pro")
    sync_templates()
    segment = Segment.objects.create(name="All", created_at=utc(2026, 11, 21, 9))
    campaign = Campaign.objects.create(name="News", segment=segment, subject_en="Hi", html_en="<p>Hi</p>", text_en="Hi",
                                       created_at=utc(2026, 11, 21, 9))
    return campaign, MessageTemplate.objects.get(key="receipt", locale="en")


def _forbidden(client, url: str, method: str = "get") -> bool:
    return getattr(client, method)(url).status_code == 403


def test_a_staff_user_without_permissions_sees_none_of_the_custom_pages(client, staff, shop):
    campaign, template = shop
    assert _forbidden(client, "/dashboard/")
    assert _forbidden(client, "/dashboard/export/months.csv")
    assert _forbidden(client, reverse("admin:notifications_campaign_preview", args=[campaign.pk]))
    assert _forbidden(client, reverse("admin:notifications_messagetemplate_preview", args=[template.pk]))
    assert _forbidden(client, reverse("admin:notifications_messagetemplate_test_send", args=[template.pk]), "post")
    assert _forbidden(client, reverse("admin:api_apikey_add"))
    assert client.post(reverse("admin:api_apikey_add"), {"name": "mine", "scope": "write"}).status_code == 403
    assert not ApiKey.objects.exists()
    # Landing on "/" after signing in leads to the admin's index, not to a 403, and it links nothing.
    assert client.get("/").url == reverse("admin:index")
    index = client.get(reverse("admin:index")).content.decode()
    assert "/dashboard/" not in index and "apikey" not in index


def test_viewing_is_not_changing_no_preview_test_send_key_or_revoke_without_the_right(client, staff, shop):
    campaign, template = shop
    _grant(staff, "notifications.view_campaign", "notifications.view_messagetemplate", "api.view_apikey",
           "api.change_apikey")
    listing = client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert reverse("admin:notifications_campaign_preview", args=[campaign.pk]) not in listing
    assert _forbidden(client, reverse("admin:notifications_campaign_preview", args=[campaign.pk]))
    # A template may be read and previewed, but only who may change it sends a test.
    page = client.get(reverse("admin:notifications_messagetemplate_change", args=[template.pk])).content.decode()
    assert reverse("admin:notifications_messagetemplate_test_send", args=[template.pk]) not in page
    assert client.get(reverse("admin:notifications_messagetemplate_preview", args=[template.pk])).status_code == 200
    assert _forbidden(client, reverse("admin:notifications_messagetemplate_test_send", args=[template.pk]), "post")
    # Renaming and revoking keys is not minting them: the add page stays closed and unlinked.
    keys = client.get(reverse("admin:api_apikey_changelist")).content.decode()
    assert reverse("admin:api_apikey_add") not in keys
    assert _forbidden(client, reverse("admin:api_apikey_add"))


def test_each_permission_opens_its_page(client, staff, shop):
    campaign, template = shop
    _grant(staff, "analytics.view_dashboard", "notifications.change_campaign", "notifications.change_messagetemplate",
           "api.view_apikey", "api.create_apikey")
    assert client.get("/").url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/dashboard/export/months.csv").status_code == 200
    assert client.get(reverse("admin:notifications_campaign_preview", args=[campaign.pk])).status_code == 200
    listing = client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert reverse("admin:notifications_campaign_preview", args=[campaign.pk]) in listing
    page = client.get(reverse("admin:notifications_messagetemplate_change", args=[template.pk])).content.decode()
    assert reverse("admin:notifications_messagetemplate_test_send", args=[template.pk]) in page
    sent = client.post(reverse("admin:notifications_messagetemplate_test_send", args=[template.pk]), {"to": "me@example.com"})
    assert sent.status_code == 302
    created = client.post(reverse("admin:api_apikey_add"), {"name": "mine", "scope": "read"})
    assert created.status_code == 302 and ApiKey.objects.filter(name="mine").count() == 1


def test_a_view_only_user_cannot_revoke_keys_or_run_message_actions(client, staff, shop):
    _grant(staff, "api.view_apikey", "notifications.view_campaign", "notifications.view_messagetemplate",
           "notifications.view_message")
    for model in ("api_apikey", "notifications_campaign", "notifications_messagetemplate", "notifications_message"):
        page = client.get(reverse(f"admin:{model}_changelist")).content.decode()
        assert 'name="action"' not in page, model


def test_superusers_have_the_dashboard_permission(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password=PASSWORD)
    assert boss.has_perm("analytics.view_dashboard") and boss.has_perm("api.create_apikey")


# --- the admin login ------------------------------------------------------------------------


def _sign_in(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("admin:login"), {"username": username, "password": password,
                                                 "next": reverse("admin:index")}, REMOTE_ADDR=address)


def test_ten_failed_sign_ins_lock_the_name_out_with_a_growing_delay_even_for_the_right_password(client, django_user_model):
    django_user_model.objects.create_superuser("owner", password=PASSWORD)
    for n in range(9):
        assert _sign_in(client, "owner", f"wrong-{n}", address=f"198.51.100.{n}").status_code == 200
    assert _sign_in(client, "owner", PASSWORD, address="198.51.100.50").status_code == 302  # a success clears the count
    client.logout()
    for n in range(9):
        assert _sign_in(client, "owner", f"wrong-{n}", address=f"198.51.100.{n}").status_code == 200
    locked = _sign_in(client, "owner", "wrong-10", address="198.51.100.99")
    assert locked.status_code == 429 and 1 <= int(locked["Retry-After"]) <= 60
    assert "Too many failed sign-ins. Try again in 1 minute" in locked.content.decode()
    # Locked: the right password, from another address, is refused too.
    right = _sign_in(client, "owner", PASSWORD, address="192.0.2.1")
    assert right.status_code == 429 and "_auth_user_id" not in client.session

    # Once the lock ends, the next failure locks for twice as long.
    row = LoginThrottle.objects.get(key="user:owner")
    row.locked_until = timezone.now() - timedelta(seconds=1)
    row.save()
    again = _sign_in(client, "owner", "wrong-11", address="192.0.2.2")
    assert again.status_code == 429 and 60 < int(again["Retry-After"]) <= 120


def test_ten_failures_from_one_address_lock_that_address_for_every_name(client, django_user_model):
    django_user_model.objects.create_superuser("owner", password=PASSWORD)
    for n in range(10):
        _sign_in(client, f"guess{n}", "x", address="203.0.113.9")
    assert _sign_in(client, "owner", PASSWORD, address="203.0.113.9").status_code == 429
    assert _sign_in(client, "owner", PASSWORD, address="203.0.113.10").status_code == 302


def test_the_lock_out_message_is_translated(client, django_user_model):
    for n in range(10):
        response = client.post(reverse("admin:login"), {"username": "owner", "password": "x"}, REMOTE_ADDR="203.0.113.9",
                               HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert response.status_code == 429
    assert "Muitas tentativas de entrada sem sucesso. Tente novamente em 1 minuto" in response.content.decode()


def test_weak_admin_passwords_are_refused_with_the_validators_messages(django_user_model):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        ensure_admin("admin", "a")
    assert any("too short" in m for m in refused.value.messages)
    assert not django_user_model.objects.filter(username="admin").exists()
    assert ensure_admin("admin", PASSWORD) == ("admin", PASSWORD)
    with pytest.raises(ValidationError):
        ensure_admin("admin", "12345678901")  # all digits
    assert django_user_model.objects.get(username="admin").check_password(PASSWORD)  # unchanged


def test_createadmin_refuses_a_weak_password_and_exits_2(assina):
    message = assina.refused("createadmin", "--password", "a", words=("too short",))
    assert "at least 10 characters" in message
    assert assina.ok("createadmin", "--password", PASSWORD) == {"username": "admin", "password": PASSWORD}
    generated = assina.ok("createadmin", "--username", "other")["password"]
    assert len(generated) >= 10
