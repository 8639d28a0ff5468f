"""Deterministic evaluation content: dataset rows, agent/model answers and the judge's scores.

Everything here is a pure function of the namespace seed, the run's uuid, the dataset rows and the metrics, so
the same scenario gives the same results on every run and nothing needs storing. The scoring rules:

- A run has a quality level drawn from the seed; each (prompt, metric) score varies around it.
- A numeric score's *goodness* is its position in [range_min, range_max], flipped when the metric is inverted.
- The star metric passes when the run-level goodness reaches `success_threshold_pct` percent, or, when the star
  metric sets `success_threshold` (a value on the metric's own scale), when the run-level value reaches it
  (stays at or below it for an inverted metric).
- In JUDGE_FAILURE_RATE of runs one judge call fails: that result is FAILED and the run ends PARTIALLY_SUCCESSFUL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from emulator.core.ids import derived_hex, derived_unit
from emulator.vendors.digitalocean.records import JUDGE_FAILURE_RATE, Metric

_TOPICS = ("droplet", "invoice", "API token", "database cluster", "Spaces bucket", "load balancer", "backup",
           "firewall", "Kubernetes node pool", "support ticket")
_QUESTIONS = (
    ("How do I resize my {t}?", "Open the {t} settings, choose a new size and confirm; the change takes a minute."),
    ("Why was my {t} request refused?", "Requests are refused when the account limit for {t}s is reached."),
    ("Can I move a {t} to another region?", "Take a snapshot of the {t} and restore it in the target region."),
    ("How much does a {t} cost per month?", "Pricing for a {t} is listed per hour and capped at a monthly rate."),
    ("How do I delete a {t}?", "Select the {t}, choose Destroy and type its name to confirm."),
    ("Who can see my {t}?", "Only members of your team with access to the project can see the {t}."),
    ("What happens to my {t} if a payment fails?", "The {t} keeps running for a grace period of seven days."),
    ("How do I rename a {t}?", "Edit the {t} name in its settings; references by id keep working."),
)
_REASONS_GOOD = ("The response answers the question using the provided context.",
                 "The answer is consistent with the expected response.",
                 "The response follows the agent instructions and stays on topic.")
_REASONS_WEAK = ("The response omits a step the expected answer includes.",
                 "Part of the answer is not supported by the retrieved context.",
                 "The response is vague about the action the user must take.")


def iso(at: float) -> str:
    """RFC 3339 in UTC with a `Z`, to the second, as the vendor's examples show."""
    return datetime.fromtimestamp(int(at), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_rows(seed: int, dataset_key: str, count: int, ground_truth: bool = True) -> list[dict[str, str]]:
    """`count` plausible support questions (with expected answers) fixed by the seed and the dataset."""
    rows = []
    for i in range(count):
        question, answer = _QUESTIONS[int(derived_unit(seed, dataset_key, i, "q") * len(_QUESTIONS))]
        topic = _TOPICS[int(derived_unit(seed, dataset_key, i, "t") * len(_TOPICS))]
        row = {"query": question.format(t=topic)}
        if ground_truth:
            row["ground_truth"] = answer.format(t=topic)
        rows.append(row)
    return rows


def answer(seed: int, run_key: str, index: int, row: dict[str, str]) -> str:
    """What the agent (or candidate model) answered for one row."""
    base = row.get("ground_truth") or "I could not find that in the documentation; please contact support."
    openers = ("", "Sure. ", "Here is what to do: ", "Good question. ")
    opener = openers[int(derived_unit(seed, run_key, index, "opener") * len(openers))]
    return opener + base


def tokens(text: str) -> int:
    return max(1, round(len(text.split()) * 4 / 3))


def _goodness(seed: int, run_key: str, index: int, metric: Metric) -> float:
    level = 0.62 + 0.33 * derived_unit(seed, run_key, "quality")
    spread = derived_unit(seed, run_key, index, metric.metric_uuid) - 0.5
    return min(1.0, max(0.0, level + 0.5 * spread))


def value_of(metric: Metric, goodness: float) -> float:
    share = 1.0 - goodness if metric.inverted else goodness
    value = metric.range_min + share * (metric.range_max - metric.range_min)
    return round(value, 2)


def goodness_of(metric: Metric, value: float) -> float:
    span = metric.range_max - metric.range_min
    share = (value - metric.range_min) / span if span else 1.0
    return 1.0 - share if metric.inverted else share


def failed_judge_call(seed: int, run_key: str, rows: int, metrics: Sequence[Metric]) -> tuple[int, str] | None:
    """(prompt index, metric uuid) of the one judge call that fails in this run, or None."""
    if not rows or not metrics or derived_unit(seed, run_key, "judge-failure") >= JUDGE_FAILURE_RATE:
        return None
    index = int(derived_unit(seed, run_key, "judge-failure-row") * rows)
    metric = metrics[int(derived_unit(seed, run_key, "judge-failure-metric") * len(metrics))]
    return index, metric.metric_uuid


def metric_result(seed: int, run_key: str, index: int, metric: Metric, failed: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"metric_uuid": metric.metric_uuid, "metric_name": metric.metric_name,
                              "metric_value_type": metric.metric_value_type}
    if failed:
        result.update(status="EVALUATION_METRIC_RESULT_STATUS_FAILED", reasoning="",
                      error_description="the judge model did not answer within 60 seconds")
        return result
    good = _goodness(seed, run_key, index, metric)
    reasons = _REASONS_GOOD if good >= 0.7 else _REASONS_WEAK
    result.update(status="EVALUATION_METRIC_RESULT_STATUS_COMPLETED", error_description="",
                  reasoning=reasons[int(derived_unit(seed, run_key, index, metric.metric_uuid, "why") * 3)])
    if metric.numeric:
        result["number_value"] = value_of(metric, good)
    else:
        result["string_value"] = "DETECTED" if good < 0.1 else "NONE"
    return result


def run_level(metric: Metric, prompt_results: list[dict[str, Any]]) -> dict[str, Any]:
    """A metric's run-level result: the mean of its completed prompt results (any DETECTED for a string metric)."""
    done = [r for r in prompt_results if r["status"] == "EVALUATION_METRIC_RESULT_STATUS_COMPLETED"]
    result: dict[str, Any] = {"metric_uuid": metric.metric_uuid, "metric_name": metric.metric_name,
                              "metric_value_type": metric.metric_value_type, "error_description": "",
                              "reasoning": f"aggregated over {len(done)} of {len(prompt_results)} prompts"}
    if not done:
        result.update(status="EVALUATION_METRIC_RESULT_STATUS_FAILED",
                      error_description="no prompt could be scored on this metric")
        return result
    result["status"] = "EVALUATION_METRIC_RESULT_STATUS_COMPLETED"
    if metric.numeric:
        result["number_value"] = round(sum(r["number_value"] for r in done) / len(done), 2)
    else:
        result["string_value"] = "DETECTED" if any(r["string_value"] == "DETECTED" for r in done) else "NONE"
    return result


def passes(metric: Metric, star: dict[str, Any], result: dict[str, Any]) -> bool:
    """Whether the star metric's run-level result meets the star metric's threshold."""
    if result.get("status") != "EVALUATION_METRIC_RESULT_STATUS_COMPLETED" or "number_value" not in result:
        return False
    value = result["number_value"]
    threshold = star.get("success_threshold")
    if threshold is not None:
        return value <= threshold if metric.inverted else value >= threshold
    return goodness_of(metric, value) * 100 >= star.get("success_threshold_pct", 80) - 1e-9


def chunks(seed: int, run_key: str, index: int, workspace: str) -> list[dict[str, Any]]:
    """Two knowledge-base chunks the agent retrieved for a prompt (the first one used)."""
    kb = str(derived_hex(seed, "kb", workspace))
    index_uuid = f"{kb[:8]}-{kb[8:12]}-4{kb[13:16]}-a{kb[17:20]}-{kb[20:32]}"
    pct = round(40 + 60 * derived_unit(seed, run_key, index, "chunk"), 1)
    return [
        {"index_uuid": index_uuid, "source_name": "docs/product-faq.md", "chunk_used": True, "chunk_usage_pct": pct,
         "text": "Answers to common product questions, kept by the support team."},
        {"index_uuid": index_uuid, "source_name": "docs/billing.md", "chunk_used": False, "chunk_usage_pct": 0.0,
         "text": "Billing runs monthly; usage is metered per hour."},
    ]


def llm_span(at: float, question: str, output: str) -> dict[str, Any]:
    """The agent's one LLM call for a prompt, as an evaluation trace span."""
    return {"created_at": iso(at), "name": "agent.llm", "type": "TRACE_SPAN_TYPE_LLM",
            "input": {"messages": [{"role": "user", "content": question}]},
            "output": {"content": output}, "retriever_chunks": [], "span_level_metric_results": []}
