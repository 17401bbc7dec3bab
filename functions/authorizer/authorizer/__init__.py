"""API Gateway Lambda authorizer (handler: ``authorizer.app.lambda_handler``)."""
