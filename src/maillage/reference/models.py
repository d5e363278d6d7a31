"""Reference data: geography keyed on INSEE codes, NAF rév. 2, European List of Waste, resource classes."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from maillage.engine.taxonomy import CATEGORIES


class Region(models.Model):
    code = models.CharField(_("code INSEE"), max_length=3, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)

    class Meta:
        verbose_name = _("région")
        verbose_name_plural = _("régions")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Departement(models.Model):
    code = models.CharField(_("code INSEE"), max_length=3, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements")

    class Meta:
        verbose_name = _("département")
        verbose_name_plural = _("départements")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Epci(models.Model):
    code = models.CharField(_("SIREN de l'EPCI"), max_length=9, primary_key=True)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=10)

    class Meta:
        verbose_name = _("EPCI")
        verbose_name_plural = _("EPCI")
        ordering = ["name", "code"]

    def __str__(self):
        return self.name


class Commune(models.Model):
    code = models.CharField(_("code INSEE"), max_length=5, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)
    postal_codes = models.CharField(
        _("codes postaux"), max_length=200, blank=True, help_text=_("séparés par des virgules")
    )
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    epci = models.ForeignKey(
        Epci, on_delete=models.PROTECT, related_name="communes", null=True, blank=True
    )
    population = models.PositiveIntegerField(_("population municipale"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["code"]
        indexes = [models.Index(fields=["departement", "name"])]

    def __str__(self):
        return f"{self.name} ({self.code})"


class NafCode(models.Model):
    """One node of NAF rév. 2: section (A), division (01), group (01.1), class (01.11), sub-class (01.11Z)."""

    class Level(models.TextChoices):
        SECTION = "section", _("section")
        DIVISION = "division", _("division")
        GROUP = "group", _("groupe")
        CLASS = "class", _("classe")
        SUBCLASS = "subclass", _("sous-classe")

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    label = models.CharField(_("libellé"), max_length=255)
    level = models.CharField(_("niveau"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        verbose_name = _("code NAF")
        verbose_name_plural = _("nomenclature NAF rév. 2")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self):
        return f"{self.code} {self.label}"

    @property
    def division(self) -> str:
        return self.code[:2]


class ResourceClass(models.Model):
    code = models.SlugField(_("code"), max_length=60, primary_key=True)
    label = models.CharField(_("libellé"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=20, choices=list(CATEGORIES.items()))
    unit = models.CharField(_("unité canonique"), max_length=10)
    max_distance_km = models.FloatField(_("distance maximale utile (km)"))
    hazardous = models.BooleanField(_("dangereux"), default=False)
    keywords = models.TextField(_("mots-clés"), blank=True)

    class Meta:
        verbose_name = _("classe de ressource")
        verbose_name_plural = _("classes de ressources")
        ordering = ["category", "label", "code"]

    def __str__(self):
        return self.label


class WasteCode(models.Model):
    """An entry of the European List of Waste (décision 2000/532/CE): chapter, sub-chapter or code."""

    class Level(models.TextChoices):
        CHAPTER = "chapter", _("chapitre")
        SUBCHAPTER = "subchapter", _("sous-chapitre")
        ENTRY = "entry", _("code déchet")

    code = models.CharField(_("code"), max_length=6, primary_key=True, help_text=_("sans espaces"))
    label = models.TextField(_("libellé"))
    level = models.CharField(_("niveau"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    hazardous = models.BooleanField(_("dangereux (*)"), default=False)
    resource_class = models.ForeignKey(
        ResourceClass, on_delete=models.PROTECT, null=True, blank=True, related_name="waste_codes"
    )

    class Meta:
        verbose_name = _("code déchet")
        verbose_name_plural = _("liste européenne des déchets")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self):
        return f"{self.display} {self.label}"

    @property
    def display(self) -> str:
        """Official notation: ``15 01 03`` or ``17 06 05*``."""
        spaced = " ".join(self.code[i : i + 2] for i in range(0, len(self.code), 2))
        return spaced + ("*" if self.hazardous else "")
