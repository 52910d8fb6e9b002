"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete, hardDelete from CSV) and query jobs.

Jobs live in the ``jobs`` table with their upload and results. An ingest job is processed when
its upload is marked complete: its rows go through the same write path as every other write, in
chunks of ``BULK_CHUNK`` records, and the successful, failed and unprocessed records come back as
CSV, not in input order (as in Salesforce). A query job runs its SOQL when it is created and
serves the CSV in pages, with ``Sforce-Locator``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import time
from collections.abc import Iterable
from typing import Any

from connectors.sandbox import soql
from connectors.sandbox.base import Request, Response
from connectors.sandbox.salesforce.batch import Op
from connectors.sandbox.salesforce.errors import _id_on_insert, api_error, rec_error
from connectors.sandbox.salesforce.query import QueryMixin, _DataCatalog
from connectors.sandbox.salesforce.writes import WritesMixin
from connectors.sandbox.salesforce_schema import USER_ID, USER_RECORD, FieldDef, ValueTypeError, now_iso, object_named

BULK_CHUNK = 10_000


class BulkMixin(WritesMixin, QueryMixin):
    def _job(self, job_id: str, kind: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT info, upload, successful, failed, unprocessed, results FROM jobs WHERE id = ? AND kind = ?",
            (job_id, kind),
        ).fetchone()
        if row is None:
            raise api_error(404, "NOT_FOUND", "The requested resource does not exist")
        return {
            "info": json.loads(row[0]), "upload": row[1], "successful": row[2], "failed": row[3],
            "unprocessed": row[4], "results": row[5],
        }

    def _save_job(self, job_id: str, info: dict[str, Any], **cols: Any) -> None:
        info["systemModstamp"] = now_iso()
        sets = ["info = ?"] + [f"{k} = ?" for k in cols]
        self.db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [json.dumps(info), *cols.values(), job_id])

    def _new_job(self, kind: str, info: dict[str, Any]) -> dict[str, Any]:
        with self.transaction():
            job_id = self._next_ids("750", 1)[0]
            seq = self.db.execute("SELECT coalesce(max(seq), 0) + 1 FROM jobs").fetchone()[0]
            stamp = now_iso()
            info = {"id": job_id, **info, "createdById": USER_ID, "createdDate": stamp, "systemModstamp": stamp}
            self.db.execute(
                "INSERT INTO jobs (id, seq, kind, info) VALUES (?, ?, ?, ?)", (job_id, seq, kind, json.dumps(info))
            )
        return info

    @staticmethod
    def _job_view(info: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: info.get(k) for k in keys if k in info}

    INGEST_CREATE_KEYS = (
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "externalIdFieldName",
        "concurrencyMode", "contentType", "apiVersion", "contentUrl", "lineEnding", "columnDelimiter",
    )
    INGEST_INFO_KEYS = INGEST_CREATE_KEYS + (
        "jobType", "retries", "numberRecordsProcessed", "numberRecordsFailed", "totalProcessingTime",
        "apiActiveProcessingTime", "apexProcessingTime", "errorMessage",
    )

    def ingest_create(self, req: Request) -> Response:
        body = self._body(req)
        if not isinstance(body, dict):
            raise api_error(400, "INVALIDJOB", "The request body must be a JSON object")
        obj = object_named(str(body.get("object") or ""))
        if obj is None:
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}")
        operation = body.get("operation")
        if operation not in ("insert", "update", "upsert", "delete", "hardDelete"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        if (body.get("contentType") or "CSV") != "CSV":
            raise api_error(400, "INVALIDJOB", "InvalidJob : Unsupported content type; only CSV is supported")
        delimiters = {"COMMA", "TAB", "PIPE", "SEMICOLON", "CARET", "BACKQUOTE"}
        if (body.get("columnDelimiter") or "COMMA") not in delimiters:
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid column delimiter: {body.get('columnDelimiter')}")
        if (body.get("lineEnding") or "LF") not in ("LF", "CRLF"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {body.get('lineEnding')}")
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            if not ext:
                raise api_error(
                    400, "INVALIDJOB",
                    f"InvalidJob : External ID was blank for {obj.name}. An External ID must be specified for upsert.",
                )
            fd = self._fields[obj.name].get(str(ext).lower())
            if fd is None or not (fd.external_id or fd.id_lookup):
                raise api_error(
                    400, "INVALIDJOB",
                    f"InvalidJob : Field name provided, {ext} is not an External ID or indexed field for {obj.name}",
                )
            ext = fd.name
        v = self._version(req)
        info = self._new_job("ingest", {
            "operation": operation, "object": obj.name, "state": "Open",
            "externalIdFieldName": ext if operation == "upsert" else None,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(v),
            "contentUrl": "", "lineEnding": body.get("lineEnding") or "LF",
            "columnDelimiter": body.get("columnDelimiter") or "COMMA", "jobType": "V2Ingest", "retries": 0,
            "numberRecordsProcessed": 0, "numberRecordsFailed": 0, "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0, "apexProcessingTime": 0,
        })
        info["contentUrl"] = f"services/data/v{v}/jobs/ingest/{info['id']}/batches"
        self._save_job(info["id"], info)
        return Response(200, self._job_view(info, self.INGEST_CREATE_KEYS))

    def ingest_list(self, req: Request) -> Response:
        rows = self.db.execute("SELECT info FROM jobs WHERE kind = 'ingest' ORDER BY seq").fetchall()
        keys = ("id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
                "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter")
        return Response(200, {
            "done": True, "records": [self._job_view(json.loads(r[0]), keys) for r in rows], "nextRecordsUrl": None,
        })

    def ingest_info(self, req: Request) -> Response:
        info = self._job(req.params["job"], "ingest")["info"]
        return Response(200, self._job_view(info, self.INGEST_INFO_KEYS))

    def ingest_upload(self, req: Request) -> Response:
        job_id = req.params["job"]
        job = self._job(job_id, "ingest")
        info = job["info"]
        if info["state"] != "Open":
            raise api_error(409, "INVALIDJOBSTATE", f"Job state {info['state']} does not allow uploads")
        if job["upload"] is not None:
            raise api_error(
                400, "BULK_API_ERROR",
                f"Found multiple contents for job: <{job_id}>, please 'Close' / 'Abort' / 'Delete' the current Job "
                "then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        if len(req.body) > 150 * 1024 * 1024:
            raise api_error(400, "BULK_API_ERROR", "The uploaded data exceeds 150 MB")
        self._save_job(job_id, info, upload=req.body)
        return Response(201)

    def ingest_state(self, req: Request) -> Response:
        job_id = req.params["job"]
        job = self._job(job_id, "ingest")
        info = job["info"]
        body = self._body(req) or {}
        state = body.get("state") if isinstance(body, dict) else None
        current = info["state"]
        if state == "UploadComplete" and current == "Open":
            info["state"] = "UploadComplete"
            reply = self._job_view(info, self.INGEST_CREATE_KEYS)
            self._process_ingest(job_id, info, job["upload"] or b"", locked=self._write_fault(req))
            return Response(200, reply)
        if state == "Aborted" and current in ("Open", "UploadComplete", "InProgress"):
            info["state"] = "Aborted"
            header, rows = self._split_csv(info, job["upload"] or b"")
            self._save_job(job_id, info, unprocessed=self._csv_text([header, *rows]) if header else "")
            return Response(200, self._job_view(info, self.INGEST_CREATE_KEYS))
        raise api_error(400, "INVALIDJOBSTATE", f"Invalid job state transition from {current} to {state}")

    def job_delete(self, req: Request) -> Response:
        kind = "ingest" if "/jobs/ingest/" in req.path else "query"
        info = self._job(req.params["job"], kind)["info"]
        if info["state"] in ("Open", "InProgress"):
            raise api_error(400, "INVALIDJOBSTATE", f"A job in state {info['state']} can't be deleted")
        self.db.execute("DELETE FROM jobs WHERE id = ?", (req.params["job"],))
        return Response(204)

    @staticmethod
    def _dialect(info: dict[str, Any]) -> tuple[str, str]:
        delimiter = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
        return delimiter[info.get("columnDelimiter") or "COMMA"], "\r\n" if info.get("lineEnding") == "CRLF" else "\n"

    def _split_csv(self, info: dict[str, Any], data: bytes) -> tuple[list[str], list[list[str]]]:
        delimiter, _ = self._dialect(info)
        text = data.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [row for row in reader if row]
        if not rows:
            return [], []
        return rows[0], rows[1:]

    def _csv_text(self, rows: Iterable[list[Any]], delimiter: str = ",", line_end: str = "\n") -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_ALL)
        writer.writerows(rows)
        return buf.getvalue()

    def _process_ingest(self, job_id: str, info: dict[str, Any], data: bytes, *, locked: bool) -> None:
        started = time.monotonic()
        header, rows = self._split_csv(info, data)
        sobject, operation = info["object"], info["operation"]
        fields = self._fields[sobject]
        failure = None
        columns: list[FieldDef | None] = []
        for name in header:
            fd = fields.get(name.strip().lower())
            if fd is None:
                failure = f"InvalidBatch : Field name not found : {name}"
                break
            columns.append(fd)
        if not header and rows == []:
            failure = None
        elif failure is None and operation in ("delete", "hardDelete", "update") and "Id" not in [
            c.name for c in columns if c
        ]:
            failure = "InvalidBatch : Field name not found : Id"
        elif failure is None and operation == "upsert" and info["externalIdFieldName"] not in [
            c.name for c in columns if c
        ]:
            failure = f"InvalidBatch : Field name not found : {info['externalIdFieldName']}"
        if failure:
            info.update({"state": "Failed", "errorMessage": failure})
            self._save_job(job_id, info, unprocessed=self._csv_text([header, *rows]))
            return
        ext_name = info.get("externalIdFieldName")
        ops: list[Op] = []
        for row in rows:
            ops.append(self._bulk_op(sobject, operation, columns, row, ext_name))
        results: list[dict[str, Any]] = []
        for start in range(0, len(ops), BULK_CHUNK):
            results.extend(self.apply(ops[start : start + BULK_CHUNK], locked=locked))
        successful = [["sf__Id", "sf__Created", *header]]
        failed = [["sf__Id", "sf__Error", *header]]
        order = list(range(len(rows)))
        random.Random(job_id).shuffle(order)  # Salesforce does not keep input order in its results
        n_failed = 0
        for i in order:
            r, row = results[i], rows[i]
            if r["success"]:
                created = r.get("created") if operation == "upsert" else operation == "insert"
                successful.append([r["id"], "true" if created else "false", *row])
            else:
                n_failed += 1
                err = r["errors"][0]
                failed.append([
                    r.get("id") or "", f"{err['code']}:{err['message']}:{','.join(err['fields'])} --", *row
                ])
        elapsed = int((time.monotonic() - started) * 1000)
        info.update({
            "state": "JobComplete", "numberRecordsProcessed": len(rows), "numberRecordsFailed": n_failed,
            "totalProcessingTime": elapsed, "apiActiveProcessingTime": elapsed,
        })
        self._save_job(
            job_id, info, successful=self._csv_text(successful), failed=self._csv_text(failed),
            unprocessed=self._csv_text([header]),
        )

    def _bulk_op(
        self, sobject: str, operation: str, columns: list[FieldDef | None], row: list[str], ext_name: str | None
    ) -> Op:
        values: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        rid = None
        for fd, cell in zip(columns, row, strict=False):
            assert fd is not None
            if fd.name == "Id":
                rid = cell.strip() or None
                continue
            if cell == "":
                continue  # empty leaves the field unchanged (and unset on insert)
            if cell == "#N/A":
                values[fd.name] = None
                continue
            try:
                values[fd.name] = fd.from_csv(cell)
            except ValueTypeError as exc:
                errors.append(rec_error("INVALID_TYPE_ON_FIELD_IN_RECORD", str(exc), [fd.name]))
        if len(row) > len(columns):
            errors.append(rec_error("TOO_MANY_COLUMNS", "The row has more values than the header has columns"))
        if operation == "insert":
            op = Op("create", sobject, values)
            if rid:
                errors.append(_id_on_insert())
        elif operation == "update":
            op = Op("update", sobject, values, id=rid)
        elif operation in ("delete", "hardDelete"):
            op = Op("hard_delete" if operation == "hardDelete" else "delete", sobject, id=rid)
            if not rid:
                errors.append(rec_error("MISSING_ARGUMENT", "Id not specified in a delete call"))
        else:
            fd = self._fields[sobject][str(ext_name).lower()]
            if fd.name == "Id":
                op = Op("upsert", sobject, values, id=rid, ext_field=fd, ext_value=rid)
                if not rid:
                    op = Op("create", sobject, values)
                    op.kind = "create"
            else:
                op = Op("upsert", sobject, values, ext_field=fd, ext_value=values.get(fd.name))
        op.errors.extend(errors)
        return op

    def ingest_results(self, req: Request) -> Response:
        job = self._job(req.params["job"], "ingest")
        kind = req.params["results"].lower()
        column = {"successfulresults": "successful", "failedresults": "failed", "unprocessedrecords": "unprocessed"}
        text = job[column[kind]]
        if text is None:
            header, _ = self._split_csv(job["info"], job["upload"] or b"")
            prefix = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}
            text = self._csv_text([[*prefix[column[kind]], *header]]) if header or kind != "unprocessedrecords" else ""
        return Response(200, text, content_type="text/csv")

    QUERY_JOB_KEYS = (
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state", "concurrencyMode",
        "contentType", "apiVersion", "lineEnding", "columnDelimiter",
    )

    def query_job_create(self, req: Request) -> Response:
        body = self._body(req)
        if not isinstance(body, dict):
            raise api_error(400, "INVALIDJOB", "The request body must be a JSON object")
        operation = body.get("operation") or "query"
        if operation not in ("query", "queryAll"):
            raise api_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        query, sobject = self._parse_soql(body.get("query"), _DataCatalog(self))
        if query.count:
            raise api_error(400, "INVALIDJOB", "InvalidJob : Aggregate queries are not supported by Bulk API 2.0")
        if sobject == "User":
            rows = [dict(USER_RECORD)]
        else:
            rows = self._candidate_rows(sobject, query, operation == "queryAll")
        result = soql.run(query, rows, lambda rs: self._attach(rs, soql.relationship_hops(query)))
        header = [".".join(ref.bound.names) for ref in query.fields]  # type: ignore[union-attr]
        info_base = {
            "operation": operation, "object": sobject, "state": "UploadComplete", "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(self._version(req)),
            "lineEnding": body.get("lineEnding") or "LF", "columnDelimiter": body.get("columnDelimiter") or "COMMA",
        }
        info = self._new_job("query", info_base)
        delimiter, line_end = self._dialect(info)
        lines = []
        for row in result:
            cells = [ref.bound.field.to_csv(soql.get_value(row, ref.bound)) for ref in query.fields]  # type: ignore
            lines.append(self._csv_text([cells], delimiter, line_end))
        reply = self._job_view(info, self.QUERY_JOB_KEYS)
        info.update({
            "state": "JobComplete", "jobType": "V2Query", "numberRecordsProcessed": len(lines), "retries": 0,
            "totalProcessingTime": 0,
        })
        self._save_job(info["id"], info, results=json.dumps(
            {"header": self._csv_text([header], delimiter, line_end), "lines": lines}
        ))
        return Response(200, reply)

    def query_job_list(self, req: Request) -> Response:
        rows = self.db.execute("SELECT info FROM jobs WHERE kind = 'query' ORDER BY seq").fetchall()
        return Response(200, {
            "done": True, "records": [self._job_view(json.loads(r[0]), self.QUERY_JOB_KEYS) for r in rows],
            "nextRecordsUrl": None,
        })

    def query_job_info(self, req: Request) -> Response:
        info = self._job(req.params["job"], "query")["info"]
        return Response(200, self._job_view(info, self.QUERY_JOB_KEYS + (
            "jobType", "numberRecordsProcessed", "retries", "totalProcessingTime", "errorMessage",
        )))

    def query_job_state(self, req: Request) -> Response:
        job = self._job(req.params["job"], "query")
        info = job["info"]
        body = self._body(req) or {}
        if body.get("state") != "Aborted" or info["state"] not in ("UploadComplete", "InProgress"):
            raise api_error(400, "INVALIDJOBSTATE", f"Invalid job state transition from {info['state']}")
        info["state"] = "Aborted"
        self._save_job(info["id"], info)
        return Response(200, self._job_view(info, self.QUERY_JOB_KEYS))

    def query_job_results(self, req: Request) -> Response:
        job = self._job(req.params["job"], "query")
        if job["info"]["state"] != "JobComplete":
            raise api_error(400, "INVALIDJOBSTATE", f"Job is in state {job['info']['state']}, results not available")
        stored = json.loads(job["results"])
        lines = stored["lines"]
        try:
            start = int(base64.urlsafe_b64decode((req.arg("locator") or "MA==").encode()).decode() or 0)
            size = int(req.arg("maxRecords") or len(lines) or 1)
        except ValueError:
            raise api_error(400, "INVALIDLOCATOR", "Invalid locator") from None
        page = lines[start : start + max(size, 1)]
        end = start + len(page)
        locator = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(lines) else "null"
        return Response(
            200, stored["header"] + "".join(page), content_type="text/csv",
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(page))},
        )
