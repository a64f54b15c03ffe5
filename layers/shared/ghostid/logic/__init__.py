"""Business logic: plain functions, nothing HTTP-specific; DynamoDB access goes through `ghostid.dal`."""
