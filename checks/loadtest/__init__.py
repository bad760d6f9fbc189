"""The load test (`fin-infra loadtest STACK`): the performance guide's Artillery test, from stack outputs.

- `config`: the Artillery config rendered from the stack outputs (the API endpoint), the target
  table (the `ensure` thresholds) and a CSV payload of user ids, with the guide's phases scaled
  down for smoke runs;
- `artillery`: finds the pinned Artillery (`make setup-checks` installs it) and runs it;
- `report`: reads Artillery's JSON report into the verdict model of the checks
  (`checks.model`), so both gates report, judge and exit alike;
- `cli`: the command.
"""
