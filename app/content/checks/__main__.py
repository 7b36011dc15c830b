"""`python -m app.content.checks [CONTENT_DIR]`: check the starter content."""

from __future__ import annotations

import sys

from app.content.checks.command import main

sys.exit(main())
