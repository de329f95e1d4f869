"""The notify service: subscriptions to the platform's events, signed webhooks and French e-mail."""
