from django.db import migrations, models


def convert(apps, schema_editor):
    JournalEntry = apps.get_model("syncops", "JournalEntry")
    # Entries of the former capture that never committed (it promoted committed ones within
    # milliseconds and before every sync): the writes they named were rolled back.
    JournalEntry.objects.filter(state="pending").delete()
    # The others named a history row with its columns: the same change as the new capture
    # records it (an insert of that row), so the history policy decides them as before.
    for entry in JournalEntry.objects.all():
        payload = entry.payload
        if "op" in payload:
            continue
        columns = {name: value for name, value in payload.items() if name != "table"}
        entry.payload = {
            "table": payload.get("table", "spaces_historyentry"),
            "op": "insert",
            "row": entry.key,
            "txn": f"former:{entry.key}",
            "before": None,
            "after": {"id": entry.key, **columns},
        }
        entry.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("syncops", "0002_journal")]

    operations = [
        migrations.RunPython(convert, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="journalentry",
            name="state",
            field=models.CharField(
                choices=[("committed", "Committed"), ("pushed", "Pushed")],
                default="committed",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="JournalCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.CharField(max_length=1000, unique=True)),
                ("change_id", models.BigIntegerField(default=0)),
            ],
        ),
    ]
