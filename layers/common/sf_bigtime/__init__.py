"""sf_bigtime: Salesforce Opportunity -> BigTime project sync (the library behind the Lambda handlers)."""

__version__ = "0.1.0"
