"""A dataset file as a user uploads it to a presigned URL: the emulator builds datasets only from uploads."""

from __future__ import annotations


def csv_text(rows: int) -> str:
    """A dataset CSV of `rows` questions, each with its expected response."""
    return "query,expected_response\n" + "".join(f"Question {n}?,Answer {n}\n" for n in range(1, rows + 1))
