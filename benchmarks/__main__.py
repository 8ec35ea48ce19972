"""Run every benchmark: ``python -m benchmarks`` (``make bench``)."""

from __future__ import annotations

from .bench_foundation import main

if __name__ == "__main__":
    main()
