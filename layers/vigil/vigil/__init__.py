"""Vigil: news monitoring for Slack."""

__version__ = "0.1.0"
