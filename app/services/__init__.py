"""Business rules, transport-agnostic: async functions taking a session and an actor."""
