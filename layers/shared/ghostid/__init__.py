"""Ghost ID analytics: code shared by every Lambda function (shipped in the shared layer)."""
