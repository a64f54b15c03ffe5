"""Business logic: plain functions that parse nothing HTTP-specific; DynamoDB access goes through `ghostid.dal`."""
