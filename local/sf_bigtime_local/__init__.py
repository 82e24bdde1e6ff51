"""The local stack: moto server for AWS, fakes of Salesforce and BigTime, an API Gateway front door and an
SQS poller that invokes the worker as Lambda would. Never packaged into the Lambda layer."""
