"""The web portal: sign-in, calls, approvals, audit (see portal/app.py)."""
