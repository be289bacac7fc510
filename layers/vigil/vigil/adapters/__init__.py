"""Adapters: storage backends, HTTP, Slack."""
