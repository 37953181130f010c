"""Backtesting on logs: read access logs, replay them through the real detectors, report.

* :mod:`.accesslog` — combined/JSON access logs read and written (gzip/bz2);
* :mod:`.replay` — ``smartlayer_replay``: each line through the same
  detector, validator and combiner as the live site, on the log's clock;
* :mod:`.replay_report` — its report and charts.

May import anything below it; nothing on the request path imports it.
"""
