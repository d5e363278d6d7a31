"""The preferences form: one e-mail frequency per registered kind, grouped by section."""

from __future__ import annotations

from django import forms

from maillage.notifications import registry
from maillage.notifications.models import NotificationPreference
from maillage.notifications.registry import Frequency


class PreferencesForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = dict(
            NotificationPreference.objects.filter(user=user).values_list("kind", "frequency")
        )
        for kind in registry.kinds():
            self.fields[kind.code] = forms.ChoiceField(
                label=kind.label,
                choices=Frequency.choices,
                initial=chosen.get(kind.code, kind.default),
                required=False,
            )

    def clean(self):
        # A kind left out of the request (an older form, an API client) keeps its preference.
        super().clean()
        return {code: value for code, value in self.cleaned_data.items() if value}

    def sections(self) -> list[tuple[str, list]]:
        """The fields grouped by the registry's sections (marketplace, events, networks…)."""
        grouped: dict[str, list] = {}
        for kind in registry.kinds():
            grouped.setdefault(str(kind.section.label), []).append(self[kind.code])
        return list(grouped.items())
