"""pydantic v2 request and response models, one module per feature."""
