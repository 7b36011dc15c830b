"""The webhook dispatcher: fan out events, claim deliveries, sign, send, retry, SSRF guard."""
