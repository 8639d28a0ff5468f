"""Offline emulator of LLM-evaluation vendor APIs.

One Starlette app answers like each vendor's evaluation API from an in-memory, namespaced state machine whose
time comes from a virtual clock per namespace. See README.md for how to point each official SDK at it.
"""

__version__ = "0.1.0"
