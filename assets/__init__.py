"""The callcanon domain: plain Python, no Dagster imports, each module testable on its own."""
