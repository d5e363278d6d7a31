"""Contact requests go to an export advisor or a cluster (with the cluster's contact users), keep
a copy of the SME's project, the addressee's answer and when they were reminded; advisors get a
phone number."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import maillage.directory.models


def copy_projects_into_requests(apps, schema_editor):
    """Existing requests get the countries and sectors their SME declares now."""
    Request = apps.get_model("directory", "ExportContactRequest")
    Project = apps.get_model("directory", "ExportProject")
    projects = {p.establishment_id: p for p in Project.objects.all()}
    for req in Request.objects.all():
        project = projects.get(req.establishment_id)
        if project is not None:
            req.countries, req.sectors = project.countries, project.sectors
            req.save(update_fields=["countries", "sectors"])


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0002_export_advisors_clusters"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("AdvisorContactRequest", "ExportContactRequest"),
        migrations.RemoveConstraint(
            model_name="exportcontactrequest",
            name="unique_advisor_contact_request",
        ),
        migrations.AddField(
            model_name="cluster",
            name="managers",
            field=models.ManyToManyField(
                blank=True,
                help_text="comptes qui reçoivent les demandes de contact adressées au pôle et y répondent",
                limit_choices_to={"role": "cluster_manager"},
                related_name="managed_clusters",
                to=settings.AUTH_USER_MODEL,
                verbose_name="contacts du pôle",
            ),
        ),
        migrations.AddField(
            model_name="exportadvisor",
            name="phone",
            field=models.CharField(
                blank=True,
                help_text="communiqué aux entreprises dont vous acceptez la demande",
                max_length=30,
                verbose_name="téléphone",
            ),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="answer",
            field=models.TextField(blank=True, verbose_name="réponse"),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="answered_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="répondue par",
            ),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="cluster",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contact_requests",
                to="directory.cluster",
                verbose_name="pôle",
            ),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="countries",
            field=models.JSONField(
                default=list,
                validators=[maillage.directory.models.validate_countries],
                verbose_name="pays visés (ISO 3166)",
            ),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="sectors",
            field=models.JSONField(
                default=list,
                validators=[maillage.directory.models.validate_sectors],
                verbose_name="secteurs",
            ),
        ),
        migrations.AlterField(
            model_name="exportadvisor",
            name="user",
            field=models.OneToOneField(
                help_text="un compte au rôle « conseiller du commerce extérieur »",
                limit_choices_to={"role": "export_advisor"},
                on_delete=django.db.models.deletion.CASCADE,
                related_name="export_advisor",
                to=settings.AUTH_USER_MODEL,
                verbose_name="compte",
            ),
        ),
        migrations.AlterField(
            model_name="exportcontactrequest",
            name="advisor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contact_requests",
                to="directory.exportadvisor",
                verbose_name="conseiller",
            ),
        ),
        migrations.AlterField(
            model_name="exportcontactrequest",
            name="establishment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="export_contact_requests",
                to="directory.establishment",
                verbose_name="entreprise",
            ),
        ),
        migrations.AddConstraint(
            model_name="exportcontactrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("advisor__isnull", False), ("cluster__isnull", True)),
                    models.Q(("advisor__isnull", True), ("cluster__isnull", False)),
                    _connector="OR",
                ),
                name="export_request_one_addressee",
            ),
        ),
        migrations.AddConstraint(
            model_name="exportcontactrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("advisor__isnull", False)),
                fields=("establishment", "advisor"),
                name="unique_advisor_contact_request",
            ),
        ),
        migrations.AddConstraint(
            model_name="exportcontactrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("cluster__isnull", False)),
                fields=("establishment", "cluster"),
                name="unique_cluster_contact_request",
            ),
        ),
        migrations.AddField(
            model_name="exportcontactrequest",
            name="reminded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="relance envoyée le"),
        ),
        migrations.RunPython(copy_projects_into_requests, migrations.RunPython.noop),
    ]
