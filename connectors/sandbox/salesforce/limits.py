"""The daily API allocation: the usage counter every counted call spends, and the ``limits`` resource.

Usage is counted per UTC day and kept in the ``meta`` table, so it survives restarts;
:mod:`.hooks` refuses calls past ``daily_api_limit`` and reports the usage in ``Sforce-Limit-Info``.
"""

from __future__ import annotations

import datetime as dt
import json

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.state import SalesforceState


class UsageMixin(SalesforceState):
    def _today(self) -> str:
        return dt.datetime.now(dt.timezone.utc).date().isoformat()

    def api_usage(self) -> int:
        day, used = self._usage
        return used if day == self._today() else 0

    def _count_call(self) -> None:
        used = self.api_usage() + 1
        self._usage = (self._today(), used)
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('api_usage', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps({"day": self._usage[0], "used": used}),),
        )

    def limits(self, req: Request) -> Response:
        limit = int(self.config["daily_api_limit"])

        def pair(mx: int, remaining: int) -> dict[str, int]:
            return {"Max": mx, "Remaining": remaining}

        jobs = self.db.execute("SELECT count(*) FROM jobs").fetchone()[0]
        return Response(200, {
            "DailyApiRequests": pair(limit, max(limit - self.api_usage(), 0)),
            "DailyBulkApiBatches": pair(15000, 15000 - jobs),
            "DailyBulkV2QueryJobs": pair(10000, 10000),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DataStorageMB": pair(5, 5),
            "FileStorageMB": pair(20, 20),
            "HourlyODataCallout": pair(10000, 10000),
            "SingleEmail": pair(15, 15),
        })
