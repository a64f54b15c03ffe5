"""Ghost ID analytics: code shared by every Lambda function (shipped in the shared layer)."""

import os

# We use no pydantic plugins: skip their entry-point scan when the first model is built (cold start).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
