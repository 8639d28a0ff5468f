"""Deterministic, plausible judging: what an LLM judge would answer, without a model.

A CLASSIFICATION judge picks the option whose value and description share the most words with the conversation,
ties and near-ties settled by a hash of (namespace seed, judge definition, subject); a REGRESSION judge answers a
number in [min, max], leaning toward the end whose description the conversation resembles more. The same seed,
definition and conversation always give the same answer and analysis.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.core.ids import derived_unit
from emulator.core.jsonio import dumps
from emulator.vendors.mistral.fields import message_text

WORD = re.compile(r"[a-z0-9]+")
STOP = frozenset("a an and are as at be by for from has have i in is it of on or that the this to was we with you"
                 " your".split())


def words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP and len(w) > 1}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / (len(b) or 1)


def _snippet(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def judge(seed: int, definition: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """{"analysis": str, "answer": str | float} of `definition` (a CreateJudgeRequest dict) over `messages`."""
    text = message_text(messages)
    said = words(text)
    key = (seed, dumps(definition).decode(), text)
    output = definition["output"]
    criteria = _snippet(definition["instructions"]) or "its instructions"
    opening = f"Judged by {definition['model_name']} on {len(messages)} message(s) against \"{criteria}\":"
    if output["type"] == "CLASSIFICATION":
        options = output["options"]
        scored = [(_overlap(said, words(f"{o['value']} {o['description']}")) + 0.35 * derived_unit(*key, i), i)
                  for i, o in enumerate(options)]
        best = options[max(scored)[1]]
        reason = _snippet(best["description"], 80) or best["value"]
        return {"analysis": f"{opening} the conversation fits \"{best['value']}\" best ({reason}).",
                "answer": best["value"]}
    low, high = float(output.get("min", 0.0)), float(output.get("max", 1.0))
    toward_max = _overlap(said, words(output["max_description"]))
    toward_min = _overlap(said, words(output["min_description"]))
    lean = 0.5 if toward_max == toward_min else toward_max / (toward_max + toward_min)
    fraction = 0.6 * lean + 0.4 * derived_unit(*key, "score")
    answer = round(low + (high - low) * fraction, 2)
    answer = min(high, max(low, answer))
    return {"analysis": f"{opening} scored {answer:g} on a scale from {low:g} ({_snippet(output['min_description'], 40)})"
                        f" to {high:g} ({_snippet(output['max_description'], 40)}).",
            "answer": answer}
