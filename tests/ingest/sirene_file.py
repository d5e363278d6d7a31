"""Generated SIRENE stock files with the real header (read from the INSEE sample) and rows."""

from __future__ import annotations

import csv
import io

from pyproj import Transformer
from stdnum import luhn

from tests.conftest import SHARED_DATA

_to_lambert = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def header() -> list[str]:
    with open(SHARED_DATA / "sirene" / "StockEtablissement_sample.csv", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def siret(n: int) -> str:
    base = f"{500000000 + n:08d}"[:8]
    siren = base + luhn.calc_check_digit(base)
    nic = f"{n % 10000:04d}"
    head = siren + nic
    return head + luhn.calc_check_digit(head)


def row(
    cols: list[str],
    n: int,
    commune="77288",
    lat=48.5394,
    lon=2.6596,
    state="A",
    naf="16.10A",
    nomenclature="NAFRev2",
    band="12",
    name=None,
    **over,
) -> list[str]:
    values = dict.fromkeys(cols, "")
    x, y = _to_lambert.transform(lon, lat) if lat is not None else ("", "")
    values.update(
        siren=siret(n)[:9],
        nic=siret(n)[9:],
        siret=siret(n),
        statutDiffusionEtablissement="O",
        trancheEffectifsEtablissement=band,
        codeCommuneEtablissement=commune,
        codePostalEtablissement="77000",
        libelleCommuneEtablissement="MELUN",
        numeroVoieEtablissement=str(n % 90 + 1),
        typeVoieEtablissement="RUE",
        libelleVoieEtablissement="DE LA SCIERIE",
        etatAdministratifEtablissement=state,
        activitePrincipaleEtablissement=naf,
        nomenclatureActivitePrincipaleEtablissement=nomenclature,
        enseigne1Etablissement=name or f"SCIERIE {n}",
        dateDebut="2020-01-01",
        coordonneeLambertAbscisseEtablissement=f"{x:.1f}" if x != "" else "",
        coordonneeLambertOrdonneeEtablissement=f"{y:.1f}" if y != "" else "",
    )
    values.update(over)
    return [values[c] for c in cols]


def write(path, rows: list[list[str]], cols: list[str], extra_bytes: list[bytes] = ()) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    path.write_bytes(data + b"".join(extra_bytes))
