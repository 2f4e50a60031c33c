"""A client written from the published description of the `oura-ring`
Python package (seed 004): an OuraClient with a personal access token and
its documented get_* methods. It talks HTTP the way that client is
described to: a bearer token, start/end parameters defaulting to
"yesterday..today", and pages followed by re-sending the parameters plus
next_token. Only the base URL differs from the live API.

Usage: ouraring_compat.py BASE_URL TOKEN START END
Prints one JSON object: method name -> number of items returned.
"""
import datetime
import json
import sys
import urllib.parse
import urllib.request


class OuraClient:
    API_V2 = "/v2/usercollection"

    def __init__(self, personal_access_token, base_url="https://api.ouraring.com"):
        self.token = personal_access_token
        self.base = base_url.rstrip("/")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _get(self, endpoint, params=None):
        url = self.base + self.API_V2 + "/" + endpoint
        if params:
            url += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def _paged(self, endpoint, params):
        out = []
        body = self._get(endpoint, params)
        out.extend(body["data"])
        while body.get("next_token"):
            params = dict(params, next_token=body["next_token"])
            body = self._get(endpoint, params)
            out.extend(body["data"])
        return out

    @staticmethod
    def _dates(start_date, end_date):
        end = end_date or datetime.date.today().isoformat()
        start = start_date or (datetime.date.fromisoformat(end) - datetime.timedelta(days=1)).isoformat()
        return {"start_date": start, "end_date": end}

    def get_personal_info(self):
        return self._get("personal_info")

    def get_daily_sleep(self, start_date=None, end_date=None):
        return self._paged("daily_sleep", self._dates(start_date, end_date))

    def get_daily_activity(self, start_date=None, end_date=None):
        return self._paged("daily_activity", self._dates(start_date, end_date))

    def get_daily_readiness(self, start_date=None, end_date=None):
        return self._paged("daily_readiness", self._dates(start_date, end_date))

    def get_enhanced_tag(self, start_date=None, end_date=None):
        return self._paged("enhanced_tag", self._dates(start_date, end_date))

    def get_heart_rate(self, start_datetime=None, end_datetime=None):
        end = end_datetime or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        start = start_datetime or (datetime.datetime.fromisoformat(end) - datetime.timedelta(days=1)).isoformat(timespec="seconds")
        return self._paged("heartrate", {"start_datetime": start, "end_datetime": end})

    def get_sleep_periods(self, start_date=None, end_date=None):
        return self._paged("sleep", self._dates(start_date, end_date))

    def get_sleep_time(self, start_date=None, end_date=None):
        return self._paged("sleep_time", self._dates(start_date, end_date))

    def get_ring_configuration(self, start_date=None, end_date=None):
        return self._paged("ring_configuration", self._dates(start_date, end_date))

    def get_rest_mode_period(self, start_date=None, end_date=None):
        return self._paged("rest_mode_period", self._dates(start_date, end_date))

    def get_sessions(self, start_date=None, end_date=None):
        return self._paged("session", self._dates(start_date, end_date))

    def get_daily_spo2(self, start_date=None, end_date=None):
        return self._paged("daily_spo2", self._dates(start_date, end_date))

    def get_daily_stress(self, start_date=None, end_date=None):
        return self._paged("daily_stress", self._dates(start_date, end_date))

    def get_tags(self, start_date=None, end_date=None):
        return self._paged("tag", self._dates(start_date, end_date))

    def get_workouts(self, start_date=None, end_date=None):
        return self._paged("workout", self._dates(start_date, end_date))


def main():
    base, token, start, end = sys.argv[1:5]
    counts = {}
    with OuraClient(token, base_url=base) as client:
        info = client.get_personal_info()
        counts["get_personal_info"] = 1 if info.get("id") else 0
        for name in ["get_daily_sleep", "get_daily_activity", "get_daily_readiness", "get_enhanced_tag",
                     "get_sleep_periods", "get_sleep_time", "get_ring_configuration", "get_rest_mode_period",
                     "get_sessions", "get_daily_spo2", "get_daily_stress", "get_tags", "get_workouts"]:
            counts[name] = len(getattr(client, name)(start, end))
        counts["get_heart_rate"] = len(client.get_heart_rate(start + "T00:00:00+00:00", end + "T00:00:00+00:00"))
        # Defaults: no arguments at all must work too.
        client.get_daily_sleep()
        client.get_heart_rate()
    print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    main()
