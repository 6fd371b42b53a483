"""API tokens stored as digests. The plain-text keys of DRF's ``authtoken_token`` (one per user, no expiry) are
carried over as digests, each expiring ``API_TOKEN_DEFAULT_DAYS`` after this migration, so clients keep working;
then that table is dropped, and with it every key in plain text. Going back recreates nothing (the keys are gone)."""

import datetime as dt
import hashlib

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def carry_over_plain_keys(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("core", "ApiToken")
    expires_at = timezone.now() + dt.timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            name="migrated",
            digest=hashlib.sha256(key.encode()).hexdigest(),
            prefix=key[:8],
            expires_at=expires_at,
        )
        for key, user_id in rows
    )
    schema_editor.execute("DROP TABLE authtoken_token")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_events'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('digest', models.CharField(help_text='SHA-256 of the key, in hex.', max_length=64, unique=True)),
                ('prefix', models.CharField(help_text="The key's first characters, to tell keys apart.", max_length=8)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('expires_at', models.DateTimeField()),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'indexes': [models.Index(fields=['user', 'created_at'], name='api_token_user_created')],
            },
        ),
        migrations.RunPython(carry_over_plain_keys, migrations.RunPython.noop),
    ]
