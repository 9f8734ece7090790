"""Do the 270 and 271 precert generates parse in linuxforhealth-x12?

Builds a 270 from domain objects and the 271 answering it, writes both, and
has linuxforhealth-x12 (in bench/.venv-lfh, pydantic<2, created on first use)
read them into its typed models. Prints the result per file.

Run: ``.venv/bin/python bench/x12_lfh_compat.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from precert.domain.authorization import Coverage, LineOfBusiness, Patient, Provider, Sex
from precert.interop.x12.mapping import (
    BenefitFact,
    CoverageFacts,
    eligibility_inquiry,
    eligibility_response,
)
from precert.interop.x12.writer import Envelope, envelope, wrap_set, write_eligibility

LFH_VENV = Path(__file__).resolve().parent / ".venv-lfh"
CHECK = """
import json, sys
from linuxforhealth.x12.io import X12ModelReader
results = {}
for path in sys.argv[1:]:
    try:
        with X12ModelReader(path) as reader:
            models = list(reader.models())
        results[path] = {"ok": True, "models": [type(m).__name__ for m in models]}
    except Exception as exc:  # report any failure of the peer, whatever its type
        results[path] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:400]}
print(json.dumps(results))
"""


def documents() -> dict[str, str]:
    """Our 270 and 271 for a synthetic member, as X12 text."""
    now = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    patient = Patient(
        id="MRN1",
        given_name="JANE",
        family_name="DOE",
        birth_date=date(1980, 1, 15),
        sex=Sex.FEMALE,
        member_id="W123456789",
    )
    coverage = Coverage(
        payer_id="12345",
        plan="GOLD",
        line_of_business=LineOfBusiness.COMMERCIAL,
        member_id="W123456789",
        state="MO",
        effective_from=date(2024, 1, 1),
    )
    provider = Provider(npi="1234567893", name="ANA RIVERA", taxonomy="207Q00000X")
    inquiry = eligibility_inquiry(
        patient,
        coverage,
        provider,
        service_types=["30", "62"],
        on=date(2024, 6, 1),
        reference="REF0001",
        submitter_id="1999999999",
        created_at=now,
    )
    facts = CoverageFacts(
        active=True,
        plan="GOLD",
        plan_begin=date(2024, 1, 1),
        plan_end=date(2024, 12, 31),
        benefits=(
            BenefitFact("1", "", ("30",), None, None, "GOLD", None, None, ()),
            BenefitFact(
                "B",
                "",
                ("62",),
                True,
                True,
                "",
                Decimal("50"),
                None,
                ("PRIOR AUTHORIZATION REQUIRED",),
            ),
        ),
        rejections=(),
    )
    answer = eligibility_response(inquiry, facts, answered_at=now)
    env = Envelope("PRECERT", "PAYER", "20240601", "0930")
    return {
        "precert.270": envelope(
            [("270", wrap_set("270", "0001", write_eligibility(inquiry)))], env
        ),
        "precert.271": envelope([("271", wrap_set("271", "0001", write_eligibility(answer)))], env),
    }


def main() -> None:
    """Write our documents and report whether linuxforhealth-x12 reads them."""
    python = LFH_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LFH_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "linuxforhealth-x12", "pydantic<2"],
            check=True,
        )
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, text in documents().items():
            path = Path(folder) / name
            path.write_text(text)
            paths.append(str(path))
        result = subprocess.run(
            [str(python), "-c", CHECK, *paths], check=True, capture_output=True, text=True
        )
        for path, outcome in json.loads(result.stdout).items():
            verdict = "parses" if outcome["ok"] else "FAILS"
            detail = outcome.get("models") or outcome.get("error")
            print(f"{Path(path).name}: {verdict} in linuxforhealth-x12 ({detail})")


if __name__ == "__main__":
    main()
