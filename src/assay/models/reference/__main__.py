"""``python -m assay.models.reference data [refusals|almanac]|build NAME|check NAME``.

``data`` rewrites the training data files (both parts by default), ``build NAME`` trains one adapter into
the package (minutes to an hour on 2 CPU cores; run it in the background), ``check
NAME`` compares the committed adapter's behaviour with its recorded digest.
"""

from __future__ import annotations

import os
import sys

# Under contention, OpenMP threads that spin while waiting make torch many times
# slower on a shared 2-core machine; they must sleep instead (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str]) -> int:
    from assay.models.reference import _build
    from assay.models.reference._registry import REFERENCE_MODELS

    def log(message: str) -> None:
        print(message, flush=True)

    usage = "usage: python -m assay.models.reference data [PART...] | build NAME | check NAME"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    command, *rest = argv
    if command == "data" and set(rest) <= set(_build.DATA_PARTS):
        for path in _build.write_data(rest or _build.DATA_PARTS, log):
            log(f"wrote {path}")
        return 0
    if command in ("build", "check") and len(rest) == 1 and rest[0] in REFERENCE_MODELS:
        if command == "build":
            record = _build.build(rest[0], log)
            log(f"behavioural digest {record['behaviour']['digest']}")
            return 0
        ok, message = _build.check(rest[0])
        log(message)
        return 0 if ok else 1
    print(usage + f"\nNAME: one of {', '.join(REFERENCE_MODELS)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
