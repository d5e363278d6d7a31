from django.apps import AppConfig


class AtlasConfig(AppConfig):
    name = "maillage.atlas"
    verbose_name = "Carte et tableaux de bord"
