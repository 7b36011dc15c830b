"""The parts of the published schema that describe the API as a whole: servers, licence,
contact, and the tags operations are grouped under (in the API reference's order)."""

from __future__ import annotations

from typing import Any

SERVERS: list[dict[str, Any]] = [
    {
        "url": "{origin}",
        "description": "Your Rapport server: its origin is `RAPPORT_PUBLIC_URL`.",
        "variables": {
            "origin": {
                "default": "http://127.0.0.1:8000",
                "description": "Scheme, host and port (`rapport serve` listens here by default).",
            }
        },
    }
]
LICENSE = {"name": "Apache License 2.0", "identifier": "Apache-2.0"}
CONTACT = {"name": "The Rapport maintainers"}

TAGS: dict[str, str] = {
    "health": "Liveness and readiness probes for load balancers and orchestrators.",
    "users": "Sign up: create an account.",
    "me": "The signed-in person: profile, password, safety exit, account erasure, data "
    "exports, answers and the access log.",
    "couples": "Pairing: create a couple, invite a partner with a single-use code, join, "
    "configure, leave.",
    "daily-prompts": "The prompt a couple gets each day, answering it (hidden until both "
    "have answered), and reflections on a partner's answer.",
    "insights": "Figures from a couple's activity: balance of sharing, light and deep "
    "prompts, responsiveness, streaks, and when to suggest a couples therapist.",
    "prompts": "Published prompt libraries and their prompts.",
    "admin-content": "Curators write, review, publish and archive prompt libraries.",
    "oauth": "The OAuth 2 authorization server: tokens, revocation, introspection, metadata "
    "and signing keys. Errors here are RFC 6749 JSON, as OAuth clients expect.",
    "vocabularies": "The fixed vocabularies of emotions and needs that check-ins use.",
    "checkins": "How a partner feels now (mood, emotions, needs, a note), private or shared "
    "with the partner, and reflections on a shared check-in.",
    "journal": "Private writing, visible to its author alone; tags and patterns over time.",
    "repair-plans": "Consent-based plans to rebuild trust after a rupture: phases, steps, "
    "agreements both sign, and trust ratings over time.",
    "conversations": "Speaker-listener sessions between the two partners: one shares, the "
    "other paraphrases before responding, the speaker confirms; then the floor passes.",
    "activities": "Time together: a shared list of activity ideas, each partner's private "
    "marks, matches when both want the same idea, plans for a date, and how it went.",
    "rituals": "The weekly ritual: a check-in the couple schedules at a local time; "
    "appreciations, what went well, one issue talked through, and commitments for next week.",
    "admin-repair-templates": "Curators write, review, publish and archive repair-plan templates.",
    "webhooks": "Endpoints a partner platform registers, their signed deliveries (Standard "
    "Webhooks), retries, redelivery and replay.",
    "events": "The catalog of event types that webhooks and the sync feed carry.",
    "connected-apps": "The third-party apps a person connected, and disconnecting them.",
    "admin-clients": "Administrators register and manage OAuth clients.",
    "sync": "The mobile sync feed: every change a device has not seen yet, in order.",
}


def describe_api(schema: dict[str, Any]) -> None:
    """Servers, licence, contact and tags; an unknown tag fails loudly (describe it here)."""
    schema["servers"] = SERVERS
    schema["info"]["license"] = LICENSE
    schema["info"]["contact"] = CONTACT
    used: set[str] = set()
    for section in ("paths", "webhooks"):
        for item in schema.get(section, {}).values():
            for operation in item.values():
                if isinstance(operation, dict):
                    used.update(operation.get("tags", []))
    unknown = sorted(used - set(TAGS))
    if unknown:
        raise RuntimeError(f"describe these tags in app/openapi_info.py: {unknown}")
    schema["tags"] = [{"name": n, "description": d} for n, d in TAGS.items() if n in used]


def name_time_zones(schema: dict[str, Any]) -> None:
    """Every time zone field refers to one `TimeZone` component instead of its own copy of
    the zone list."""
    from app.schemas.common import TIME_ZONES

    zones = list(TIME_ZONES)
    reference = {"$ref": "#/components/schemas/TimeZone"}

    def visit(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("enum") == zones:
                dropped = ("type", "enum", "minLength", "maxLength")
                kept = {k: v for k, v in value.items() if k not in dropped}
                return {**reference, **kept}
            return {key: visit(item) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item) for item in value]
        return value

    for section in ("paths", "components", "webhooks"):
        if section in schema:
            schema[section] = visit(schema[section])
    schema["components"].setdefault("schemas", {})["TimeZone"] = {
        "type": "string",
        "title": "TimeZone",
        "description": "An IANA time zone name, e.g. `Europe/Paris` (the list the API accepts).",
        "enum": zones,
    }


_VOCABULARY_FIELDS = {
    "Keys of GET /v1/vocabularies/emotions": "EmotionKey",
    "Keys of GET /v1/vocabularies/needs": "NeedKey",
}


def name_vocabulary_keys(schema: dict[str, Any]) -> None:
    """Emotion and need fields (described as keys of the vocabularies) list the keys the API
    accepts, as the `EmotionKey` and `NeedKey` enums."""
    from app.services.vocabularies import emotion_keys, need_keys

    keys = {"EmotionKey": sorted(emotion_keys()), "NeedKey": sorted(need_keys())}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            description = value.get("description")
            description = description if isinstance(description, str) else ""
            for prefix, name in _VOCABULARY_FIELDS.items():
                if description.startswith(prefix) and value.get("type") == "array":
                    value["items"] = {"$ref": f"#/components/schemas/{name}"}
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(schema.get("paths", {}))
    visit(schema.get("components", {}))
    components = schema["components"].setdefault("schemas", {})
    for name, values in keys.items():
        vocabulary = "emotions" if name == "EmotionKey" else "needs"
        components[name] = {
            "type": "string",
            "title": name,
            "description": f"A key of GET /v1/vocabularies/{vocabulary}.",
            "enum": values,
        }
