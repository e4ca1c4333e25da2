"""`callcanon portal`: serve the web portal (sign-in, calls, approvals, audit) on loopback by default.

In production it sits behind the organisation's TLS proxy (docs/portal.md); it runs as the pipeline's
service account, the only account that holds the keys and can open the warehouse.
"""

from __future__ import annotations

import click

from pipelines.cli.group import main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=int)
def portal(host: str, port: int) -> None:
    """Serve the portal: the one door to personal data for people."""
    import uvicorn

    from assets import keys
    from portal.app import create_app

    try:
        app = create_app()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"callcanon portal on http://{host}:{port}/ (sign in at /login)")
    # No access log: the portal keeps its own record, in the audit trail, of everything that matters.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", proxy_headers=True,
                forwarded_allow_ips="127.0.0.1")
