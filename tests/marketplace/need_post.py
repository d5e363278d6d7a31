"""POST data of the need form for tests."""

from __future__ import annotations


def lot_rows(*lots: tuple[str, str], rows: int | None = None) -> dict[str, str]:
    """The POST fields of the need form's lot rows (formset prefix ``lots``): one row per
    (title, category code), padded with empty rows up to ``rows``."""
    rows = max(rows or 0, len(lots))
    data = {
        "lots-TOTAL_FORMS": str(rows),
        "lots-INITIAL_FORMS": "0",
        "lots-MIN_NUM_FORMS": "0",
        "lots-MAX_NUM_FORMS": "10",
    }
    for i in range(rows):
        title, category = lots[i] if i < len(lots) else ("", "")
        data[f"lots-{i}-title"] = title
        data[f"lots-{i}-category"] = category
    return data
