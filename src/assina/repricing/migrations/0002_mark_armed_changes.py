"""Mark the changes price migrations armed before the mark existed (``source``), so that the
rules of ``subscriptions.changes.owners_change`` hold for them too: the pending change of an
armed, not yet landed member that is exactly what its choice schedules (the new price, the
annual kept price, or the cheaper plan without a pinned version)."""

from django.db import migrations


def mark_armed_changes(apps, schema_editor):
    Member = apps.get_model("repricing", "PriceMigrationMember")
    ScheduledChange = apps.get_model("subscriptions", "ScheduledChange")
    members = (Member.objects.filter(armed_at__isnull=False, landed_at__isnull=True)
               .select_related("migration__switch_plan"))
    for member in members.iterator():
        migration = member.migration
        for change in ScheduledChange.objects.filter(subscription_id=member.subscription_id, status="pending"):
            data = change.change
            if data.get("source") or "replaces" in data:
                continue
            pinned = data.get("plan_version")
            if member.armed_choice == "switch":
                ours = not pinned and migration.switch_plan_id is not None and data.get("plan") == migration.switch_plan.code
            elif member.armed_choice == "annual":
                ours = pinned is not None and pinned == migration.annual_version_id
            else:
                ours = pinned is not None and pinned == migration.new_version_id
            if ours:
                change.change = {**data, "source": "price_migration"}
                change.save(update_fields=["change"])


class Migration(migrations.Migration):

    dependencies = [
        ("repricing", "0001_price_migrations"),
        ("subscriptions", "0005_skipped_deliveries"),
    ]

    operations = [migrations.RunPython(mark_armed_changes, migrations.RunPython.noop)]
