"""Generators of demo calls, theme corpora and synthetic warehouse rows. Only tests, benchmarks
and `callcanon demo` import them; nothing in the pipeline does."""
