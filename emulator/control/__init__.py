"""The /_emulator control API (per namespace) and a small client for it."""
