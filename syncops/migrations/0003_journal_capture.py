from django.db import migrations, models


def drop_pending(apps, schema_editor):
    # Entries of the former capture that never committed (it promoted committed ones within
    # milliseconds and before every sync): the writes they named were rolled back.
    apps.get_model("syncops", "JournalEntry").objects.filter(state="pending").delete()


class Migration(migrations.Migration):
    dependencies = [("syncops", "0002_journal")]

    operations = [
        migrations.RunPython(drop_pending, migrations.RunPython.noop),
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
