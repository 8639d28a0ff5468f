"""Plausible generated content: chat conversations and chat completion events, fixed by the namespace seed.

Two ways, one per need, both fixed by (namespace seed, purpose, key) whatever the call order:
- A few at a time (the fields an explicit scenario event leaves out, conversations behind imported files and
  playground ids): Faker seeded per item, as always, so these keep their values from release to release.
- Many at once (a scenario's `generate: N`, up to 100,000): one blake2b digest per event, its numbers picking
  from the word tables below. Seeding Faker and asking it a dozen values costs about a millisecond an event
  (100 s for 100,000); a digest and table lookups cost a few microseconds, and the tables do not change with
  the installed Faker release.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from itertools import combinations
from typing import Any

from emulator.core.fake import faker_for

MODELS = ("mistral-large-latest", "mistral-small-latest", "codestral-latest", "ministral-8b-latest",
          "open-mistral-nemo")
FINISH_REASONS = ("stop", "stop", "stop", "stop", "length", "tool_calls")
TAGS = ("prod", "staging", "support", "billing", "beta", "rag", "mobile", "eu")
TEAMS = ("support", "growth", "platform", "research")
APPS = ("helpdesk", "copilot", "search", "onboarding")

# (user request, assistant answer) templates; {product}, {city}, {name}, {number} are filled by Faker
# (one at a time) or from the tables below (many at once).
TOPICS: tuple[tuple[str, str], ...] = (
    ("My invoice for {product} shows a charge of {number} euros twice. Can you refund the duplicate?",
     "I'm sorry about the duplicate charge. I have opened a refund request for {number} euros; it will reach your "
     "account within 5 business days."),
    ("How do I reset my password for the {product} app?",
     "Open the {product} app, tap 'Forgot password' on the sign-in screen and follow the link we email you."),
    ("Write a Python function that returns the {number} largest values of a list.",
     "def largest(values, k={number}):\n    return sorted(values, reverse=True)[:k]"),
    ("Summarize this meeting note: {name} will ship the {product} release in {city} next week.",
     "{name} plans to ship the {product} release in {city} next week."),
    ("Translate to French: 'Our office in {city} opens at {number} am.'",
     "Notre bureau de {city} ouvre à {number} h."),
    ("What is the weather usually like in {city} in spring?",
     "Spring in {city} is usually mild, with cool mornings and occasional rain showers."),
    ("Can you explain why my order of {product} has not shipped yet?",
     "Your {product} order is waiting for stock at our {city} warehouse; it should ship within {number} days."),
    ("Give me three name ideas for a {product} startup.",
     "Here are three ideas: {name} Labs, {product} Works and Bright {product}."),
)


# ---- one at a time: Faker --------------------------------------------------------------------------------------


def conversation(*key: object) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(request_messages, response_messages) of one plausible chat, fixed by `key`."""
    fake = faker_for("mistral.conversation", *key)
    request, answer = TOPICS[fake.random_int(0, len(TOPICS) - 1)]
    values = {"product": fake.word().capitalize(), "city": fake.city(), "name": fake.first_name(),
              "number": str(fake.random_int(2, 90))}
    messages = [{"role": "user", "content": request.format(**values)}]
    if fake.random_int(0, 2) == 0:
        messages.insert(0, {"role": "system", "content": "You are a helpful assistant for "
                                                         f"{fake.company()}."})
    return messages, [{"role": "assistant", "content": answer.format(**values)}]


def words_in(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def event_fields(*key: object) -> dict[str, Any]:
    """Every field of a ChatCompletionEvent but ids and time, plus its extra_fields, fixed by `key`."""
    fake = faker_for("mistral.event", *key)
    request, response = conversation(*key)
    finish = FINISH_REASONS[fake.random_int(0, len(FINISH_REASONS) - 1)]
    tools = []
    if finish == "tool_calls":
        tools = [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order",
                                                    "parameters": {"type": "object", "properties": {}}}}]
    temperature = (None, 0.0, 0.2, 0.7, 1.0)[fake.random_int(0, 4)]
    extra = {
        "model": MODELS[fake.random_int(0, len(MODELS) - 1)],
        "temperature": temperature,
        "latency_ms": fake.random_int(180, 4200),
        "finish_reason": finish,
        "streamed": fake.boolean(40),
        "user_id": None if fake.random_int(0, 4) == 0 else f"user-{fake.random_int(1, 40):03d}",
        "tags": sorted(set(fake.random_elements(TAGS, length=fake.random_int(0, 3), unique=True))),
        "metadata": {"team": fake.random_element(TEAMS), "app": fake.random_element(APPS)},
    }
    return {
        "nb_input_tokens": int(words_in(request) * 1.3) + 4,
        "nb_output_tokens": int(words_in(response) * 1.3) + 1,
        "enabled_tools": tools,
        "request_messages": request,
        "response_messages": response,
        "chat_transcription_events": [],
        "extra": extra,
    }


# ---- many at once: words drawn from tables --------------------------------------------------------------------

# Words the templates are filled with.
PRODUCTS = ("Atlas", "Beacon", "Cobalt", "Drift", "Ember", "Falcon", "Garnet", "Harbor", "Indigo", "Juniper",
            "Kestrel", "Lumen", "Meadow", "Nimbus", "Orbit", "Pioneer", "Quartz", "Ripple", "Summit", "Tandem",
            "Umbra", "Vertex", "Willow", "Zephyr")
CITIES = ("Lisbon", "Lyon", "Montreal", "Nairobi", "Osaka", "Porto", "Quebec", "Seville", "Toronto", "Utrecht",
          "Valencia", "Warsaw", "Zagreb", "Austin", "Bergen", "Cork", "Denver", "Geneva", "Hamburg", "Krakow",
          "Marseille", "Naples", "Oslo", "Tallinn")
NAMES = ("Alan", "Amy", "Ashley", "Benjamin", "Brian", "Crystal", "Deborah", "Emily", "George", "Jamie", "Janet",
         "Julia", "Kenneth", "Lauren", "Manuel", "Michael", "Nancy", "Natasha", "Nicholas", "Ralph", "Sheila",
         "Suzanne", "Theresa", "Zachary")
COMPANIES = ("Adams LLC", "Carter PLC", "Casey, Gray and Duncan", "Craig-Monroe", "Flores Group", "Jackson PLC",
             "James and Sons", "Knight LLC", "Peterson PLC", "Phillips-Porter", "Salazar-Morales", "Smith-Harris",
             "Swanson Inc", "Tate-Patel", "Vasquez Ltd")

# Every subset of TAGS of 0 to 3 tags, sorted, by size: an event has a uniformly drawn number of distinct tags.
TAG_SETS = tuple(tuple(combinations(sorted(TAGS), size)) for size in range(4))
# The fills are single words, so a filled template has as many words as the template: counted once, here.
assert all(" " not in word for word in PRODUCTS + CITIES + NAMES)
TOPIC_WORDS = tuple((len(request.split()), len(answer.split())) for request, answer in TOPICS)
SYSTEM = "You are a helpful assistant for {company}."
SYSTEM_WORDS = tuple(len(SYSTEM.format(company=company).split()) for company in COMPANIES)


def _hasher(*key: object) -> Any:
    return hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=64)


def _numbers(hasher: Any) -> tuple[int, ...]:
    """32 numbers of 16 bits from one digest: every choice a chat or an event makes."""
    return struct.unpack("<32H", hasher.digest())


def _drawn_conversation(numbers: tuple[int, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
    """(request_messages, response_messages, words in the request, words in the response)."""
    topic, product, city, name, number, system, company = numbers[:7]
    request, answer = TOPICS[topic % len(TOPICS)]
    request_words, answer_words = TOPIC_WORDS[topic % len(TOPICS)]
    values = {"product": PRODUCTS[product % len(PRODUCTS)], "city": CITIES[city % len(CITIES)],
              "name": NAMES[name % len(NAMES)], "number": str(2 + number % 89)}
    messages = [{"role": "user", "content": request.format(**values)}]
    if system % 3 == 0:
        company %= len(COMPANIES)
        messages.insert(0, {"role": "system", "content": SYSTEM.format(company=COMPANIES[company])})
        request_words += SYSTEM_WORDS[company]
    return messages, [{"role": "assistant", "content": answer.format(**values)}], request_words, answer_words


def events(*key: object, count: int) -> Iterator[tuple[float, dict[str, Any]]]:
    """The fields of `count` events (each as event_fields gives them, ids and time aside) with a number in [0, 1)
    that places each in time. Event i draws from the digest of (*key, i); the part all share is hashed once."""
    shared = _hasher("mistral.event", *key, "")
    for i in range(count):
        hasher = shared.copy()
        hasher.update(str(i).encode())
        yield _drawn_event(_numbers(hasher))


def _drawn_event(numbers: tuple[int, ...]) -> tuple[float, dict[str, Any]]:
    """(where in time, the event's fields): the same choices as event_fields makes, drawn from `numbers`."""
    request, response, request_words, response_words = _drawn_conversation(numbers)
    finish, model, temperature, latency, streamed, user, tag_count, tags, team, app, high, low = numbers[7:19]
    finish = FINISH_REASONS[finish % len(FINISH_REASONS)]
    tools = []
    if finish == "tool_calls":
        tools = [{"type": "function", "function": {"name": "lookup_order", "description": "Find an order",
                                                    "parameters": {"type": "object", "properties": {}}}}]
    tag_sets = TAG_SETS[tag_count % len(TAG_SETS)]
    extra = {
        "model": MODELS[model % len(MODELS)],
        "temperature": (None, 0.0, 0.2, 0.7, 1.0)[temperature % 5],
        "latency_ms": 180 + latency % 4021,
        "finish_reason": finish,
        "streamed": streamed % 100 < 40,
        "user_id": None if user % 5 == 0 else f"user-{1 + user // 5 % 40:03d}",
        "tags": list(tag_sets[tags % len(tag_sets)]),
        "metadata": {"team": TEAMS[team % len(TEAMS)], "app": APPS[app % len(APPS)]},
    }
    return (high << 16 | low) / 2**32, {
        "nb_input_tokens": int(request_words * 1.3) + 4,
        "nb_output_tokens": int(response_words * 1.3) + 1,
        "enabled_tools": tools,
        "request_messages": request,
        "response_messages": response,
        "chat_transcription_events": [],
        "extra": extra,
    }
