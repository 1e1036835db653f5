"""Peak memory of a child process and everything it starts (Beam's worker processes included).

    proc = subprocess.Popen(cmd)
    peak_bytes, wall_seconds = peak_rss_tree(proc)   # returns when proc exits
"""

from __future__ import annotations

import subprocess
import threading
import time


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from Linux's /proc."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for child in f.read().split():
                total += tree_rss(int(child))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return total


def peak_rss_tree(proc: subprocess.Popen, interval: float = 0.05) -> tuple[int, float]:
    """Wait for ``proc``; its peak tree RSS in bytes (sampled every ``interval`` s) and the wall
    seconds it ran from this call."""
    peak = 0
    start = time.perf_counter()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    stop.set()
    sampler.join()
    return peak, time.perf_counter() - start
