"""The legal path of a substitution, the ICPE rubriques table and the hazardous authorisation."""

import csv
from pathlib import Path

import numpy as np

from maillage.engine import legal

DATA = Path(legal.__file__).parent / "data"


def test_scrap_metal_can_leave_waste_status_under_333_2011():
    path = legal.legal_path("17 04 05", False, "R4", ())
    assert not path.stays_waste
    assert "333/2011" in path.end_of_waste
    assert path.operation == "R4"
    assert "métaux" in path.operation_label
    assert any("récépissé" in s for s in path.steps)
    assert not any("Trackdéchets" in s for s in path.steps)


def test_end_of_waste_depends_on_operation():
    # wood packaging leaves waste status as boiler fuel (R1), not as panel material here
    assert legal.legal_path("15 01 03", False, "R1", ()).end_of_waste is not None
    assert legal.legal_path("15 01 03", False, "R3", ()).end_of_waste is None
    # unknown operation: the code alone decides
    assert "1179/2012" in legal.legal_path("200102", False, None, ()).end_of_waste


def test_hazardous_waste_stays_waste_with_tracking_form_and_authorised_receiver():
    path = legal.legal_path("13 02 05*", True, "R9", ("2790",))
    assert any("BSDD" in s and "Trackdéchets" in s for s in path.steps)
    assert any("2790" in s and "enregistrée" in s for s in path.steps)
    # 13 02 residues: the order covers hazardous oils, for R9 only
    assert "10 juillet 2017" in path.end_of_waste
    solvent = legal.legal_path("14 06 03*", True, "R2", ())
    assert solvent.stays_waste and solvent.end_of_waste is None
    assert any("aucune n'est enregistrée" in s for s in solvent.steps)


def test_hazardous_entry_excluded_from_non_hazardous_order():
    # 17 04 05 under 333/2011 excludes hazardous scrap
    assert legal.legal_path("17 04 05", True, "R4", ()).stays_waste
    # a non-authorising rubrique is not shown as authorising hazardous waste
    path = legal.legal_path("16 01 07*", True, None, ("2791",))
    assert not any("2791" in s for s in path.steps)


def test_unknown_operation_code_is_dropped():
    assert legal.legal_path("170405", False, "R99", ()).operation is None


def test_parse_rubriques():
    kept, errors = legal.parse_rubriques(["2790", " 2770-1", "2790", "27A0", "1234", ""])
    assert kept == ("2770", "2790")
    assert len(errors) == 2
    assert "27A0" in errors[0] and "quatre chiffres" in errors[0]
    assert "1234" in errors[1] and "inconnue" in errors[1]


def test_hazardous_rubriques():
    assert set(legal.authorising(["2770", "2771", "2790", "2791", "2792", "2793"])) == {
        "2770",
        "2790",
        "2792",
        "2793",
    }


def test_may_receive_hazardous_record_overrides_default():
    recorded = [(), ("2790",), ("2791",), ()]
    default = np.array([True, False, True, False])
    assert list(legal.may_receive_hazardous(recorded, default)) == [True, True, False, False]


def test_data_files_cite_their_sources():
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for name in ("icpe_rubriques.csv", "end_of_waste.csv"):
        with open(DATA / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                assert f"`{row['source']}`" in sources, (name, row)
    for row in legal.end_of_waste_table().values():
        assert set(row.operations) <= set(legal.RECOVERY_OPERATIONS)
        assert len(row.prefix) in (4, 6) and row.prefix.isdigit()


def test_expected_rubriques_shown_when_none_recorded():
    path = legal.legal_path("13 02 05*", True, "R9", (), ("2790", "2791"))
    step = next(s for s in path.steps if "doit détenir" in s)
    assert "2790" in step and "2791" not in step  # only hazardous-authorising ones
    recorded = legal.legal_path("13 02 05*", True, "R9", ("2790",), ("2790",))
    assert not any("doit détenir" in s for s in recorded.steps)


def test_default_waste_rubriques_of_a_cement_works():
    assert legal.default_waste_rubriques("23.51Z") == ("2770", "2771")
    assert legal.default_waste_rubriques("10.71C") == ()
