"""Roles for export advisors (CCE) and clusters' contact users; the accounts already linked to an
export advisor, which were company accounts, become export advisors."""

from django.db import migrations, models


def export_advisors_get_their_role(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    ExportAdvisor = apps.get_model("directory", "ExportAdvisor")
    linked = ExportAdvisor.objects.values("user_id")
    # A company user who also represents an establishment keeps that role (and its access).
    User.objects.filter(pk__in=linked, role="company", establishments__isnull=True).update(
        role="export_advisor"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apitoken"),
        ("directory", "0002_export_advisors_clusters"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="role",
            field=models.CharField(
                choices=[
                    ("chamber_admin", "administrateur de chambre"),
                    ("advisor", "conseiller CCI"),
                    ("company", "utilisateur d'entreprise"),
                    ("animator", "animateur de réseau"),
                    ("export_advisor", "conseiller du commerce extérieur"),
                    ("cluster_manager", "contact d'un pôle de compétitivité"),
                ],
                default="company",
                max_length=20,
                verbose_name="rôle",
            ),
        ),
        migrations.RunPython(export_advisors_get_their_role, migrations.RunPython.noop),
    ]
