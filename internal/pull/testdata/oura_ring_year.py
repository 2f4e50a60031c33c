"""Reads a span of days with the oura-ring client, one call after another.

The baseline of TestBenchPullPython: the client is used as published, with
only its API address pointed at a simulator. Every read method is called
once over the span; the time series (heart rate, ring battery level) in
spans of 30 days, the longest the Oura API answers. Prints one JSON line:
the documents received and the seconds the reads took.

usage: oura_ring_year.py CLIENT_DIR API_URL TOKEN FIRST_DAY LAST_DAY
"""

import datetime
import json
import sys
import time


def main() -> None:
    client_dir, api_url, token, first, last = sys.argv[1:6]
    sys.path.insert(0, client_dir)
    import oura_ring.client

    oura_ring.client.API_URL = api_url.rstrip("/")
    client = oura_ring.client.OuraClient(token)

    dated = [
        client.get_rest_mode_period,
        client.get_sleep_time,
        client.get_daily_sleep,
        client.get_daily_spo2,
        client.get_daily_stress,
        client.get_enhanced_tag,
        client.get_daily_activity,
        client.get_daily_readiness,
        client.get_sleep_periods,
        client.get_sessions,
        client.get_tags,
        client.get_workouts,
        client.get_daily_resilience,
        client.get_daily_cardiovascular_age,
        client.get_vo2_max,
    ]
    series = [client.get_heart_rate, client.get_ring_battery_level]

    start = time.perf_counter()
    docs = 1  # personal_info is one document
    client.get_personal_info()
    docs += len(client.get_ring_configuration())
    for read in dated:
        docs += len(read(start_date=first, end_date=last))
    begin = datetime.datetime.fromisoformat(first).replace(tzinfo=datetime.timezone.utc)
    end = datetime.datetime.fromisoformat(last).replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
    for read in series:
        at = begin
        while at < end:
            until = min(at + datetime.timedelta(days=30), end)
            # The time series answer [start, end): spans that touch do not overlap.
            docs += len(read(start_datetime=at.isoformat(), end_datetime=until.isoformat()))
            at = until
    seconds = time.perf_counter() - start
    client.close()
    print(json.dumps({"documents": docs, "seconds": seconds}))


if __name__ == "__main__":
    main()
