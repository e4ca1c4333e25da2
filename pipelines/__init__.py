"""The Dagster code location: wiring only. The domain lives in the `assets` package."""
