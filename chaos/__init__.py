"""`make chaos`: "exactly once, nothing lost" at realistic size, under every fault at once, with figures.

One run on the local stack (127.0.0.1 only; bounded in count and time; it stops by itself):

1. seeds Accounts (some already BigTime clients by name), their contacts, and Opportunities with contact
   roles and line items (chaos.plan, drawn from the seed);
2. turns the faults on: BigTime fails a share of calls in every way its fake can (5xx, 429/503 with
   Retry-After in both forms, answers later than the client waits, work done but the answer lost) and
   throttles above its rate limit; Salesforce answers 503 to a share of calls and its tokens expire every
   N calls (chaos.faults);
3. wins every Opportunity at once: the org's Flow calls ingest for each; a share is delivered again as an
   Outbound Message, a Change Data Capture event through EventBridge or the same callout repeated, before,
   with or after the Flow's, and older change events arrive after newer ones (chaos.deliver);
4. kills worker invocations mid-batch (sf_bigtime_local.poller: the invocation's thread gets a
   BaseException wherever it is; its messages come back after the visibility timeout);
5. waits for the queue to drain, ends the outage, runs `sf-bigtime redrive` once for what was parked in the
   dead-letter queue, waits again;
6. checks (chaos.checks) and scans every log record, captured log line, reply and stored error message for
   the run's secrets, which all have a known pattern (tests/logscan.py).

    .venv/bin/python -m chaos [--seed N] [--opportunities N] [--accounts N] [--bounded]

The seed is printed first and last; a failure replays with ``--seed``. The seed fixes the plan (the data,
which deliveries repeat and when, when crashes happen) and the fault draws; threads still interleave as
they will, so a replay repeats the scenario, not every instant of it.
"""
