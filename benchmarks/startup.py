"""How fast light commands start: `caseline --help` and a few more, against Python starting
and doing nothing, measured in the same run (the median of RUNS each, default 15).

Run: python benchmarks/startup.py [RUNS]. The commands are loaded lazily (bot/cli/main.py),
so a help screen does not import SQLAlchemy, Redis or the flow engine; issue 17's target is
0.5 s for `caseline --help` and the other light commands.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["cases", "--help"], ["people", "--help"], ["clock", "--help"],
            ["flows", "--help"], ["chat", "--help"]]


def seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    baseline = seconds([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass (baseline): {baseline * 1000:.0f} ms (median of {runs})")
    for args in COMMANDS:
        took = seconds([sys.executable, "-m", "bot", *args], runs)
        print(f"caseline {' '.join(args):<16} {took * 1000:5.0f} ms  "
              f"{took / baseline:4.1f}x the baseline  (target 500 ms)")


if __name__ == "__main__":
    main()
