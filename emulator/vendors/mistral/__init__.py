"""Mistral observability (beta) API: /v1/observability, as mistralai 2.9.4 calls it (`client.beta.observability`).

Choices where the vendor is silent are listed in README-style notes at the end of this docstring.
"""

PREFIX = "/v1/observability"
