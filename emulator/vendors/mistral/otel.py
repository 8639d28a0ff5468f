"""Logs, traces and spans (OpenTelemetry) — filled in below."""

OPERATIONS: list = []
