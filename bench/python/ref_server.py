"""The request loop the reference scripts share with bench/ (one long-lived process per reference, so that each
figure's set-up is paid once and interleaved rounds time warm code on both sides)."""
import json
import sys
import time


def time_calls(fn, warmup, repeats):
    """Milliseconds of each of `repeats` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def serve(handle):
    """Answers each JSON line of stdin with one JSON line: handle(request, built), where `built` persists across
    requests (each figure's state is made at its first request). An exception is answered {"error": ...}, which the
    harness reports as that figure's failure."""
    built = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = handle(json.loads(line), built)
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
