"""DynamoDB access. Everything that knows a key layout or an expression lives in this package."""
