"""Values for `defs.yaml` that YAML cannot spell."""

from datetime import timedelta

import dagster as dg


@dg.template_var
def marts_freshness() -> dg.FreshnessPolicy:
    """Analysts open the trends in the morning: the marts must have been rebuilt since 08:00 the
    day before by 08:00 London time (the daily build runs at 06:00, after the night's calls)."""
    return dg.FreshnessPolicy.cron(deadline_cron="0 8 * * *", lower_bound_delta=timedelta(hours=24),
                                   timezone="Europe/London")
