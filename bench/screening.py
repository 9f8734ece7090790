"""Schedule-screening throughput: the compiled policy engine against a bare dict-lookup loop.

Generates policy packs totalling at least 10,000 rules (50 payers, each with code
lists, code ranges, place-of-service, amount and diagnosis conditions) plus the
shipped packs, then 1,000,000 synthetic service lines whose payers, codes and
settings repeat the way a real schedule's do. Prints lines per second for the
engine and for the peer (a loop doing one dict lookup per line over the same
lines, the practical floor in pure Python) and their ratio, measured in the same run.

Run: ``.venv/bin/python bench/screening.py`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from precert.domain.authorization import LineOfBusiness, Sex
from precert.domain.codes import CodeSystem
from precert.policy import LineFacts, PolicyEngine, load_packs, shipped_pack_paths
from precert.policy.model import Setting

LINES = 1_000_000
PAYERS = 50
RULES_PER_PAYER = 200
SEED = 20260101


def generated_pack(payer: str, rng: random.Random) -> dict[str, object]:
    """One synthetic payer pack of ``RULES_PER_PAYER`` rules over CPT codes and ranges."""
    rules: list[dict[str, object]] = []
    for i in range(RULES_PER_PAYER):
        low = rng.randrange(10000, 99000)
        codes: list[str] = (
            [f"{low}-{low + rng.randrange(1, 40)}"]
            if i % 3 == 0
            else [str(rng.randrange(10000, 99999)) for _ in range(rng.randrange(1, 6))]
        )
        match: dict[str, object] = {"code_system": "CPT", "codes": codes}
        if i % 7 == 0:
            match["places_of_service"] = [rng.choice(["11", "19", "22", "24"])]
        if i % 11 == 0:
            match["amount"] = {"min": rng.randrange(100, 5000)}
        if i % 13 == 0:
            match["diagnoses"] = [rng.choice(["M17", "C50", "G43", "F32"])]
        rules.append(
            {
                "id": f"{payer}-r{i}",
                "description": "generated rule",
                "priority": rng.randrange(0, 3),
                "match": match,
                "outcome": {
                    "pa_needed": rng.choice(["auth-needed", "no-auth", "conditional"]),
                    "lead_time_business_days": rng.randrange(0, 10),
                },
            }
        )
    return {
        "pack": {
            "id": payer,
            "version": "1.0.0",
            "title": f"generated {payer}",
            "publisher": "bench",
            "source": "illustrative example",
            "layer": "payer",
            "effective_from": "2026-01-01",
        },
        "payer": {
            "id": payer,
            "display_name": payer,
            "prior_auth_phone": "800-555-0199",
            "lines_of_business": ["commercial"],
            "x12_payer_id": "BENCH",
            "lead_time_business_days": {"advanced_imaging": 2},
            "service_categories": ["advanced_imaging"],
        },
        "rules": rules,
    }


def write_packs(folder: Path, rng: random.Random) -> list[Path]:
    """Write the generated packs to ``folder``; return them with the shipped packs."""
    paths = list(shipped_pack_paths())
    for n in range(PAYERS):
        path = folder / f"bench-payer-{n}.yaml"
        path.write_text(yaml.safe_dump(generated_pack(f"bench-payer-{n}", rng)), encoding="utf-8")
        paths.append(path)
    return paths


def schedule(engine: PolicyEngine, rng: random.Random) -> list[LineFacts]:
    """Synthetic lines: 2,000 settings reused across a quarter of service dates."""
    payers = sorted(engine.payers)
    codes = sorted({c for r in engine.rules for c in r.match.codes if len(c) == 5})
    # A schedule reader hands the engine one Setting object per distinct setting, as a
    # real file repeats the same payer, code and place of service on many rows.
    settings = [
        Setting(
            rng.choice(payers),
            "Standard",
            LineOfBusiness.COMMERCIAL,
            "MO",
            None,
            CodeSystem.CPT,
            rng.choice(codes),
            (),
            rng.choice(["11", "19", "22", "24"]),
        )
        for _ in range(2000)
    ]
    start = date(2026, 4, 1)
    days = [start + timedelta(days=d) for d in range(90)]
    diagnoses = [("M17.11",), ("C50.911",), ("G43.909",), ("F32.9",), ("I10",)]
    return [
        LineFacts(
            rng.choice(settings),
            rng.choice(days),
            Decimal(rng.randrange(1, 4)),
            Decimal(rng.randrange(50, 6000)),
            rng.randrange(1, 90),
            rng.choice((Sex.FEMALE, Sex.MALE)),
            rng.choice(diagnoses),
        )
        for _ in range(LINES)
    ]


def bare_loop(lines: list[LineFacts], table: dict[Setting, int]) -> list[int]:
    """The peer: one dict lookup per line (keyed by the line's setting), same loop shape."""
    out: list[int] = []
    append = out.append
    for facts in lines:
        append(table[facts[0]])
    return out


def main() -> None:
    """Build, warm up, then time the engine and the peer over the same lines."""
    import tempfile

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_packs(Path(tmp), rng)
        started = time.perf_counter()
        engine = PolicyEngine(load_packs(paths))
        compile_seconds = time.perf_counter() - started
    print(f"rules loaded, validated and compiled: {len(engine.rules):,} in {compile_seconds:.2f} s")
    if len(engine.rules) < 10_000:
        sys.exit("fewer than 10,000 rules: the benchmark is not measuring what it claims")
    lines = schedule(engine, rng)
    table = {facts.setting: 0 for facts in lines}
    engine.determine_all(lines[:50_000])  # warm the setting cache as a real screen run would

    best_engine = best_peer = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        answers = engine.determine_all(lines)
        best_engine = min(best_engine, time.perf_counter() - t0)
        t0 = time.perf_counter()
        bare_loop(lines, table)
        best_peer = min(best_peer, time.perf_counter() - t0)
    needing = sum(1 for a in answers if a.needs_auth)
    engine_rate, peer_rate = LINES / best_engine, LINES / best_peer
    print(f"lines: {LINES:,} ({needing:,} need prior authorization)")
    print(f"engine:    {engine_rate:>12,.0f} lines/s")
    print(f"bare loop: {peer_rate:>12,.0f} lines/s (one dict lookup per line)")
    ratio = best_engine / best_peer
    print(f"ratio:     {ratio:.2f}x the bare loop (goal: <= 5x and >= 1,000,000 lines/s)")


if __name__ == "__main__":
    main()
