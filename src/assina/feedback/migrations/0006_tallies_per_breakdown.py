from django.db import migrations, models


def fill(apps, schema_editor):
    """The counts per breakdown from the responses' own plan, country, locale and cohort."""
    Response = apps.get_model("feedback", "SurveyResponse")
    Tally = apps.get_model("feedback", "ScoreTally")
    counts = {}
    for at, plan, country, locale, cohort, survey, score in Response.objects.filter(
            score__isnull=False, survey__in=("nps", "csat")).values_list(
            "submitted_at", "plan_code", "country", "locale", "cohort", "survey", "score").iterator():
        month = at.year * 100 + at.month
        for dimension, value in (("all", ""), ("country", country), ("locale", locale), ("cohort", str(cohort))):
            key = (month, plan, dimension, value, survey, score)
            counts[key] = counts.get(key, 0) + 1
    Tally.objects.bulk_create([Tally(month=k[0], plan_code=k[1], dimension=k[2], value=k[3], survey=k[4], score=k[5], n=n)
                               for k, n in counts.items()], batch_size=5000)


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0005_weekly_digest'),
    ]

    operations = [
        migrations.DeleteModel(name='ScoreTally'),
        migrations.CreateModel(
            name='ScoreTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.PositiveIntegerField(verbose_name='month (YYYYMM)')),
                ('plan_code', models.CharField(blank=True, max_length=64, verbose_name='plan')),
                ('dimension', models.CharField(max_length=8, verbose_name='breakdown')),
                ('value', models.CharField(blank=True, max_length=64, verbose_name='value')),
                ('survey', models.CharField(choices=[('nps', 'NPS (0–10)'), ('csat', 'CSAT (1–5)'), ('note', 'Comment without a score')], max_length=8, verbose_name='survey')),
                ('score', models.PositiveSmallIntegerField(verbose_name='score')),
                ('n', models.IntegerField(default=0, verbose_name='responses')),
            ],
            options={
                'verbose_name': 'score count',
                'verbose_name_plural': 'score counts',
                'constraints': [models.UniqueConstraint(fields=('month', 'plan_code', 'dimension', 'value', 'survey', 'score'), name='feedback_tally_dimension_key')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
