"""Statistics for the reports' dashboard (issue 7); PostgreSQL only, additive.

The dashboard groups calls by campaign and UTC hour. Without statistics on that expression
PostgreSQL guesses a million groups, aggregates in one process and sorts on disk; with them it
knows there are ~24 per campaign-day and aggregates in parallel workers.
"""

from django.db import migrations

HOUR = "(date_trunc('hour', requested_at AT TIME ZONE 'UTC'))"
CREATE = [
    f"CREATE STATISTICS IF NOT EXISTS call_campaign_hour_stats (ndistinct) "
    f"ON campaign_id, {HOUR} FROM dialer_call",
    f"CREATE STATISTICS IF NOT EXISTS call_hour_stats ON {HOUR} FROM dialer_call",
]
DROP = [
    "DROP STATISTICS IF EXISTS call_campaign_hour_stats",
    "DROP STATISTICS IF EXISTS call_hour_stats",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("dialer", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
