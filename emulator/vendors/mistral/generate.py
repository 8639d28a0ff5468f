"""Plausible generated content: chat conversations and chat completion events, fixed by the namespace seed.

Used by a scenario's `generate: N` and by imports whose sources the emulator does not hold (uploaded files,
playground conversations). Every value comes from Faker seeded with (namespace seed, purpose, key).
"""

from __future__ import annotations

from typing import Any

from emulator.core.fake import faker_for

MODELS = ("mistral-large-latest", "mistral-small-latest", "codestral-latest", "ministral-8b-latest",
          "open-mistral-nemo")
FINISH_REASONS = ("stop", "stop", "stop", "stop", "length", "tool_calls")
TAGS = ("prod", "staging", "support", "billing", "beta", "rag", "mobile", "eu")
TEAMS = ("support", "growth", "platform", "research")
APPS = ("helpdesk", "copilot", "search", "onboarding")

# (user request, assistant answer) templates; {product}, {city}, {name}, {number} are filled by Faker.
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
