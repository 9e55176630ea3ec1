"""asv benchmarks for qmoe-tfq (filled in by the benchmark issue)."""
