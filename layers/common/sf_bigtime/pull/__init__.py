"""BigTime's figures back onto the ``BigTime_Project__c`` records in Salesforce (docs/decisions.md#pulling-bigtimes-figures).

* :mod:`.aliases` one table of the names BigTime gives each figure, and reading a row through it;
  :mod:`.fields` where each figure lands, conversions, and when two values are the same.
* :mod:`.bigtime` reading BigTime politely (half the rate, throttling, 401/405): per project or one report.
* :mod:`.salesforce` one SOQL read, and changed rows written in sObject Collections inside ``/composite``.
* :mod:`.plan` the decisions (what to read, what to write) as plain functions; :mod:`.run` one pull.
* :mod:`.progress` read times and on-demand claims in the state table.
* :mod:`.scheduled` the scheduled function and :func:`~.scheduled.build_puller`; :mod:`.on_demand` the
  worker's "Pull from BigTime" requests.
"""
