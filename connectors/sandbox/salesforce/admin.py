"""The Salesforce sandbox's own admin route: ``GET /__sandbox/records/{SObject}`` dumps an object's
records, live and deleted, for the demo and debugging (tests read state through the SDK instead).
"""

from __future__ import annotations

import json

from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.records import RecordsMixin
from connectors.sandbox.salesforce.setup_objects import sobject_named


class AdminMixin(RecordsMixin):
    def admin_records(self, req: Request) -> Response:
        obj = sobject_named(req.params["type"])
        if obj is None:
            return Response(404, {"message": f"unknown object {req.params['type']}"})
        cursor = self.db.execute("SELECT deleted, data FROM records WHERE sobject = ? ORDER BY seq", (obj.name,))
        rows = [self._row(obj.name, d, json.loads(data)) for d, data in cursor]
        return Response(200, {"totalSize": len(rows), "records": rows})
