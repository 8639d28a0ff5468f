"""The `serve` process freezes what survives a full garbage collection (serving.freeze_survivors), so a server
holding many records is not stopped for half a second at a time by collections that find nothing to free."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_survivors_of_a_full_collection_are_frozen_and_garbage_is_still_freed():
    script = textwrap.dedent("""
        import gc
        from emulator.serving import freeze_survivors

        freeze_survivors()
        freeze_survivors()  # installed once however often it is called
        assert gc.callbacks.count(gc.callbacks[-1]) == 1 and len(gc.callbacks) == 1
        class Record:
            pass

        kept = [Record() for _ in range(10_000)]  # tracked by the collector, as records are
        gc.collect(1)
        assert gc.get_freeze_count() == 0  # younger collections freeze nothing
        cycle = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # the full collection still frees garbage cycles first...
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept), frozen  # ...then what survived it is frozen
        made = [Record() for _ in range(100)]
        gc.collect()
        assert gc.get_freeze_count() >= frozen + len(made)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr

