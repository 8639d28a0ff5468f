# The skip reason of the browser tests when no browser is present; tests/conftest.py repeats it in the summary.
NO_BROWSER = "browser tests did not run: no chromium"
