"""Outbound email: a sender interface, an SMTP sender, a log sender, localised templates."""
