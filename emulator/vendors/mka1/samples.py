"""Samples of a run: their status at any virtual time, and their generated content.

Generated runs store no samples: a sample's status follows from the run's phases (which samples each pass works
on, when it started, whether it was cut), and its content from the namespace seed, so 100,000 runs cost little
memory and every read agrees with every other. Agent (harness) runs store their trials as given.
"""

from __future__ import annotations

import base64
import math
import random
from dataclasses import dataclass
from typing import Any

from emulator.core.fake import faker_for
from emulator.core.ids import derived_hex, derived_unit
from emulator.vendors.mka1.records import Run, TaskSpec

SAMPLE_PREFIX = "eval_sample_"
BINARY_TASKS = frozenset({"classification", "multiple_choice", "qa", "math", "numeric", "custom"})
# Part of a sample's step spent generating; the rest is scoring.
GENERATING_SHARE = 0.6


@dataclass(slots=True)
class SampleState:
    status: str
    started_at: float | None = None
    completed_at: float | None = None


QUEUED = SampleState("queued")


def sample_id(run: Run, ordinal: int) -> str:
    """24 hex fixed by the run, then the ordinal: stable across reruns and decodable for `after` cursors."""
    return f"{SAMPLE_PREFIX}{derived_hex(run.id, nbytes=12)}{ordinal:08x}"


def ordinal_of(run: Run, ident: str) -> int | None:
    prefix = f"{SAMPLE_PREFIX}{derived_hex(run.id, nbytes=12)}"
    if not ident.startswith(prefix) or len(ident) != len(prefix) + 8:
        return None
    try:
        return int(ident[len(prefix):], 16)
    except ValueError:
        return None


def sample_state(run: Run, ordinal: int, now: float) -> SampleState:
    """Status of one generated sample at `now`: the last pass that reached it decides."""
    state = QUEUED
    for phase in run.phases:
        position = phase.position(ordinal)
        if position is None:
            continue
        if phase.start is None:
            if phase.cut is None:  # a pass waiting for the run to start: the sample is (re)queued
                state = QUEUED
            continue
        begin = phase.start + position * phase.step
        done = begin + phase.step
        horizon = now if phase.cut is None else min(now, phase.cut)
        if done <= horizon:
            state = SampleState("failed" if ordinal in phase.failing else "completed", begin, done)
        elif begin <= horizon:
            scoring = (horizon - begin) >= GENERATING_SHARE * phase.step
            if phase.cut is None:
                state = SampleState("scoring" if scoring else "generating", begin)
            elif scoring:  # cancelled after generating: it resumes at scoring on retry
                state = SampleState("ready_to_score", begin)
        elif phase.cut is None:
            state = QUEUED
    return state


def model_skill(seed: int, model: str) -> float:
    """How often a model answers right, fixed per model name and seed (between 0.55 and 0.92)."""
    return 0.55 + 0.37 * derived_unit(seed, "skill", model)


AUDIO_RATE = 8000  # 8-bit mono PCM: small clips that any WAV decoder reads
_LOW_NOISE = bytes(120 + (b % 16) for b in range(256))  # random bytes -> quiet noise around the 128 midpoint


def _audio_frames(text: str) -> int:
    return AUDIO_RATE // 10 * max(1, len(text.split()))


def _audio_data_uri(text: str, key: tuple) -> str:
    """A valid WAV whose length follows the text and whose noise follows `key` (task and row), so clips of
    different tasks and rows differ, as the vendor's do."""
    frames = _audio_frames(text)
    data = random.Random(derived_hex(*key)).randbytes(frames).translate(_LOW_NOISE)
    header = (
        b"RIFF" + (36 + frames).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + AUDIO_RATE.to_bytes(4, "little")
        + AUDIO_RATE.to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
        + b"data" + frames.to_bytes(4, "little")
    )
    return "data:audio/wav;base64," + base64.b64encode(header + data).decode()


def _redacted_audio(text: str) -> str:
    """What list responses show instead of an inline clip (they redact `data:` blobs)."""
    size = 4 * math.ceil((44 + _audio_frames(text)) / 3) + len("data:audio/wav;base64,")
    return f"[redacted data: URI, {size} bytes]"


def dataset_row(seed: int, run: Run, task: TaskSpec, index: int, *, inline_audio: bool = False) -> dict[str, Any]:
    """The dataset row behind a sample: the same for every run and model of one suite version.

    Audio clips are inline `data:` URIs only when asked for (get_sample_audio); lists show them redacted.
    """
    fake = faker_for(seed, run.suite_version_id, task.id, index)
    if task.type == "classification":
        labels = task.choices or ("positive", "negative", "neutral")
        return {"text": fake.sentence(nb_words=12), "label": labels[fake.random_int(0, len(labels) - 1)]}
    if task.type == "multiple_choice":
        options = [fake.word().capitalize() for _ in range(4)]
        return {"question": fake.sentence(nb_words=10).rstrip(".") + "?", "choices": options,
                "answer": "ABCD"[fake.random_int(0, 3)]}
    if task.type in ("math", "numeric"):
        a, b = fake.random_int(2, 999), fake.random_int(2, 999)
        return {"question": f"What is {a} + {b}?", "answer": str(a + b)}
    if task.type == "transcription":
        text = fake.sentence(nb_words=8)
        clip = _audio_data_uri(text, (seed, run.suite_version_id, task.id, index)) if inline_audio else _redacted_audio(text)
        return {task.audio_column or "audio": clip, "text": text}
    if task.type == "summarization":
        return {"document": fake.paragraph(nb_sentences=5), "summary": fake.sentence(nb_words=14)}
    return {"question": fake.sentence(nb_words=9).rstrip(".") + "?", "answer": fake.sentence(nb_words=6)}


def _prompt_and_target(task: TaskSpec, row: dict[str, Any]) -> tuple[str, str]:
    if task.type == "classification":
        return f"Classify the text as one of {', '.join(task.choices or ('positive', 'negative', 'neutral'))}.\n\n{row['text']}", row["label"]
    if task.type == "multiple_choice":
        options = "\n".join(f"{letter}. {text}" for letter, text in zip("ABCD", row["choices"]))
        return f"{row['question']}\n{options}\nAnswer:", row["answer"]
    if task.type == "transcription":
        return "Transcribe the audio clip.", row["text"]
    if task.type == "summarization":
        return f"Summarize:\n\n{row['document']}", row["summary"]
    return row["question"], row["answer"]


def usage(seed: int, run: Run, ordinal: int) -> tuple[int, int]:
    """(input, output) tokens of a generated sample, drawn from the seed so run totals need no text."""
    unit = derived_unit(seed, run.id, ordinal, "usage")
    return 40 + int(unit * 360), 8 + int(derived_unit(seed, run.id, ordinal, "out") * 120)


def outcome(seed: int, run: Run, ordinal: int) -> tuple[bool, float]:
    """(answered right, reward) of a completed generated sample; cheap, so run metrics need no text."""
    task = run.locate(ordinal)[0]
    model = run.locate(ordinal)[1]
    luck = derived_unit(seed, run.id, ordinal, "answer")
    right = luck < model_skill(seed, model)
    if task.type in BINARY_TASKS:
        return right, 1.0 if right else 0.0
    # graded tasks: partial credit, higher when the answer is right
    return right, round(0.6 + 0.4 * luck if right else 0.5 * luck, 3)


def scores_of(task: TaskSpec, reward: float) -> dict[str, float]:
    scores = {"reward": reward}
    for metric in task.metric_ids:
        scores.setdefault(metric, reward)
    return scores


def generated_sample(
    seed: int, run: Run, ordinal: int, state: SampleState, *, include_dataset_row: bool = True,
    include_reasoning: bool = False,
) -> dict[str, Any]:
    task, model, index = run.locate(ordinal)
    row = dataset_row(seed, run, task, index)
    prompt, target = _prompt_and_target(task, row)
    finished = state.status in ("completed", "failed")
    sample: dict[str, Any] = {
        "id": sample_id(run, ordinal),
        "object": "eval.sample",
        "run_id": run.id,
        "task_id": task.id,
        "model": model,
        "sample_index": index,
        "status": state.status,
        "dataset_row": row if include_dataset_row else None,
        "prompt": prompt,
        "target": target,
        "response_id": None,
        "output_text": None,
        "reasoning": None,
        "extracted_output": None,
        "scores": {},
        "judge": None,
        "error": None,
        "cost_usd": None,
        "input_tokens": None,
        "output_tokens": None,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "tokens_estimated": False,
        "phase_timings": None,
        "created_at": int(run.phases[0].start if run.phases and run.phases[0].start is not None else run.created_at),
        "started_at": None if state.started_at is None else int(state.started_at),
        "completed_at": None if state.completed_at is None else int(state.completed_at),
    }
    if not finished:
        return sample
    sample["input_tokens"], output_tokens = usage(seed, run, ordinal)
    sample["cached_tokens"] = 0
    if state.status == "failed":
        sample["error"] = {"type": "generation_error", "message": f"model {model!r} timed out after 120 s", "attempt": 1}
        return sample
    right, reward = outcome(seed, run, ordinal)
    fake = faker_for(seed, run.id, ordinal, "output")
    output = target if right else fake.sentence(nb_words=max(2, len(target.split())))
    scores = scores_of(task, reward)
    sample.update(
        response_id=f"resp_{derived_hex(run.id, ordinal, 'response')}",
        output_text=output,
        extracted_output=output.strip().rstrip("."),
        scores=scores,
        output_tokens=output_tokens,
        # no reasoning is captured for transcription tasks
        reasoning=fake.sentence(nb_words=16) if include_reasoning and task.type != "transcription" else None,
    )
    if task.type == "llm_judge":
        sample["judge"] = {"model": run.judge_model or "auto", "score": reward,
                           "rationale": fake.sentence(nb_words=12)}
    return sample
