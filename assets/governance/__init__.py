"""Governance's annual review pack."""
