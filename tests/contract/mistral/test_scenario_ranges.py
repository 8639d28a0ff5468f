"""Numbers in the `mistral:` section of a scenario are in range: seconds are core's Seconds (finite, 0 to ten
years), a generated batch ends within ten years (age_seconds + spread_seconds), and counts and times stay where
every derived time can be shown. Each refusal names the field and its line; nothing is loaded."""

from __future__ import annotations

import pytest

from emulator.core.namespace import World
from emulator.core.scenario import ScenarioError, build, parse_scenario
from emulator.vendors import registry


def refusal(section: str) -> str:
    with pytest.raises(ScenarioError) as info:
        build(World(), parse_scenario("seed: 1\nmistral:\n" + section), registry.vendors())
    return str(info.value)


@pytest.mark.parametrize("section, message", [
    ("  events: [{generate: 3, spread_seconds: .inf}]", "scenario:3: mistral.events.0.spread_seconds: inf is not a "
                                                        "finite number"),
    ("  events: [{generate: 3, spread_seconds: 1e300}]", "mistral.events.0.spread_seconds: Input should be less than "
                                                         "or equal to 315360000"),
    ("  events:\n    - generate: 3\n      age_seconds: 300000000\n      spread_seconds: 20000000",
     "scenario:4: mistral.events.0: the oldest generated event would be 320000000 s old; age_seconds + "
     "spread_seconds is at most 315360000"),
    ("  events: [{age_seconds: -1}]", "mistral.events.0.age_seconds: Input should be greater than or equal to 0"),
    ("  events: [{created_at: 9999-12-31T00:00:00}]", "mistral.events.0.created_at: an event is created between "
                                                      "1970-01-01 and 3000-01-01"),
    ("  events: [{nb_output_tokens: 9000000000000000000}]", "mistral.events.0.nb_output_tokens: Input should be less "
                                                            "than or equal to 1000000000"),
    ("  events: [{extra_fields: {latency_ms: 9000000000000000000}}]",
     "mistral.events.0.extra_fields.latency_ms: Input should be less than or equal to 315360000000"),
    ("  campaigns: [{name: c, judge: j, age_seconds: 1e12}]", "mistral.campaigns.0.age_seconds: Input should be "
                                                              "less than or equal to 315360000"),
])
def test_out_of_range_numbers_are_refused_naming_the_field(section, message):
    assert message in refusal(section)


def test_the_edges_of_the_ranges_load():
    text = ("seed: 1\nclock: {mode: manual, start: 2026-01-01T00:00:00Z}\nmistral:\n  events:\n"
            "    - {generate: 2, age_seconds: 315000000, spread_seconds: 360000}\n"
            "    - {created_at: 2026-01-01T00:00:00, extra_fields: {latency_ms: 315360000000}}\n")
    ns = build(World(), parse_scenario(text), registry.vendors()).namespace
    from emulator.vendors.mistral import service

    created = sorted(e.created_at for e in service.events(ns).values())
    start = 1767225600.0  # 2026-01-01T00:00:00Z: a time without an offset is UTC, whatever the host's zone
    assert created[-1] == start and start - 315360000 <= created[0] <= created[1] <= start - 315000000
