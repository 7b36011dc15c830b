"""The top functions of a py-spy sample (`run.py --py-spy DIR`), by own and by total time.

    python bench/spy_top.py bench/results/spy/checkins.txt [--top 25]

A raw py-spy file has one collapsed stack per line (`frame;frame;… count`), the innermost
frame last. Own time counts a function where it is the innermost frame; total time counts it
once per stack that holds it anywhere. Idle samples (the event loop waiting) are included.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['function']}  {path}"


def tally(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return samples, own, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    samples, own, total = tally(args.samples)
    print(f"{samples} samples in {args.samples}")
    for title, counter in (("own", own), ("total", total)):
        print(f"\nby {title} time")
        for name, count in counter.most_common(args.top):
            print(f"{100 * count / max(samples, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
