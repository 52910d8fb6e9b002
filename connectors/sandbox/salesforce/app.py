"""The Salesforce sandbox app: :class:`SalesforceApp`, composed from one mixin per API area, and its routes.

The mixins are layered so that each uses only what is below it; mypy then checks every ``self.``
call against a real class, with no protocol to keep in step by hand:

- :class:`~.state.SalesforceState` (state.py): tables, field catalog, id counters, and the
  attributes every layer shares;
- :class:`~.limits.UsageMixin` (limits.py): the daily API allocation and ``limits``;
- :class:`~.hooks.HooksMixin` (hooks.py): authentication, allocation and error rendering for every
  call, and the request helpers;
- :class:`~.records.RecordsMixin` (records.py): reading and rendering stored records;
- on top of it :class:`~.query.QueryMixin` (query.py, SOQL), and :class:`~.security.SecurityMixin`
  (security.py, the rules of the setup objects) under :class:`~.validation.ValidationMixin`
  (validation.py) under :class:`~.writes.WritesMixin` (writes.py, the write path).

Each endpoint mixin sits on the layer it needs: :class:`~.rest.RestMixin` and
:class:`~.collections.CollectionsMixin` on the write path, :class:`~.bulk.BulkMixin` on the write
path and SOQL, :class:`~.convert.LeadConvertMixin` (a rep converting a Lead) on the write path,
:class:`~.load.LoadMixin` (many records at once, an admin route) on the write path,
:class:`~.tooling.ToolingMixin` on SOQL, :class:`~.admin.AdminMixin` on the record reads,
:class:`~.auth.OAuthMixin` on the state. :meth:`SalesforceApp._register` is the one place that maps
every endpoint to its handler.
"""

from __future__ import annotations

from pathlib import Path

from connectors.sandbox.salesforce.admin import AdminMixin
from connectors.sandbox.salesforce.auth import OAuthMixin
from connectors.sandbox.salesforce.bulk import BulkMixin
from connectors.sandbox.salesforce.collections import CollectionsMixin
from connectors.sandbox.salesforce.convert import LeadConvertMixin
from connectors.sandbox.salesforce.load import LoadMixin
from connectors.sandbox.salesforce.query import QueryMixin
from connectors.sandbox.salesforce.rest import RestMixin
from connectors.sandbox.salesforce.tooling import ToolingMixin

V = r"/services/data/v(?P<v>\d{1,3}\.\d{1,2})"


# QueryMixin comes after BulkMixin and ToolingMixin, which build on it: Python's method resolution
# order must list a class after every class derived from it.
class SalesforceApp(RestMixin, CollectionsMixin, LeadConvertMixin, LoadMixin, BulkMixin, ToolingMixin, QueryMixin,
                    OAuthMixin, AdminMixin):
    name = "salesforce"

    def __init__(self, db_path: Path, *, token: str) -> None:
        super().__init__(db_path, token=token)
        self._register()

    # -- routes ----------------------------------------------------------------------------
    def _register(self) -> None:
        r = self.route
        r("GET", r"/services/data/?", "versions")(self.versions)
        r("POST", r"/services/oauth2/token", "oauth2/token")(self.oauth_token)
        r("GET", r"/services/oauth2/userinfo", "oauth2/userinfo")(self.userinfo)
        r("GET", V + r"/?", "resources")(self.resources)
        r("GET", V + r"/limits/?", "limits")(self.limits)
        r("GET", V + r"/sobjects/?", "describeGlobal")(self.describe_global)
        r("GET", V + r"/sobjects/(?P<type>\w+)/describe/?", "sobjects/describe")(self.describe)
        r("GET", V + r"/sobjects/(?P<type>\w+)/?", "sobjects/basic")(self.basic_info)
        r("POST", V + r"/sobjects/(?P<type>\w+)/?", "sobjects/create")(self.create_one)
        r("GET", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/get")(self.get_one)
        r("PATCH", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/update")(self.update_one)
        r("DELETE", V + r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)/?", "sobjects/delete")(self.delete_one)
        r("GET", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/getByExtId")(
            self.get_by_external_id
        )
        r("PATCH", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/upsert")(
            self.upsert_one
        )
        r("DELETE", V + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?", "sobjects/deleteByExtId")(
            self.delete_by_external_id
        )
        r("GET", V + r"/(?P<kind>query|queryAll)/?", "query")(self.query)
        r("GET", V + r"/(?P<kind>query|queryAll)/(?P<locator>01g[^/]+)/?", "query/more")(self.query_more)
        r("POST", V + r"/composite/sobjects/?", "composite/sobjects/create")(self.collection_create)
        r("PATCH", V + r"/composite/sobjects/?", "composite/sobjects/update")(self.collection_update)
        r("DELETE", V + r"/composite/sobjects/?", "composite/sobjects/delete")(self.collection_delete)
        r("GET", V + r"/composite/sobjects/(?P<type>\w+)/?", "composite/sobjects/retrieve")(self.collection_retrieve)
        r("POST", V + r"/composite/sobjects/(?P<type>\w+)/?", "composite/sobjects/retrieve")(
            self.collection_retrieve
        )
        r("PATCH", V + r"/composite/sobjects/(?P<type>\w+)/(?P<field>\w+)/?", "composite/sobjects/upsert")(
            self.collection_upsert
        )
        r("POST", V + r"/jobs/ingest/?", "jobs/ingest/create")(self.ingest_create)
        r("GET", V + r"/jobs/ingest/?", "jobs/ingest/list")(self.ingest_list)
        r("GET", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/info")(self.ingest_info)
        r("PATCH", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/state")(self.ingest_state)
        r("DELETE", V + r"/jobs/ingest/(?P<job>750\w+)/?", "jobs/ingest/delete")(self.job_delete)
        r("PUT", V + r"/jobs/ingest/(?P<job>750\w+)/batches/?", "jobs/ingest/upload")(self.ingest_upload)
        r(
            "GET",
            V + r"/jobs/ingest/(?P<job>750\w+)/(?P<results>(?i:successfulResults|failedResults|unprocessedRecords))/?",
            "jobs/ingest/results",
        )(self.ingest_results)
        r("POST", V + r"/jobs/query/?", "jobs/query/create")(self.query_job_create)
        r("GET", V + r"/jobs/query/?", "jobs/query/list")(self.query_job_list)
        r("GET", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/info")(self.query_job_info)
        r("PATCH", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/state")(self.query_job_state)
        r("DELETE", V + r"/jobs/query/(?P<job>750\w+)/?", "jobs/query/delete")(self.job_delete)
        r("GET", V + r"/jobs/query/(?P<job>750\w+)/results/?", "jobs/query/results")(self.query_job_results)
        r("GET", V + r"/tooling/sobjects/?", "tooling/sobjects")(self.tooling_sobjects)
        r("POST", V + r"/tooling/sobjects/CustomField/?", "tooling/CustomField/create")(self.custom_field_create)
        r("GET", V + r"/tooling/sobjects/CustomField/(?P<id>\w+)/?", "tooling/CustomField/get")(
            self.custom_field_get
        )
        r("DELETE", V + r"/tooling/sobjects/CustomField/(?P<id>\w+)/?", "tooling/CustomField/delete")(
            self.custom_field_delete
        )
        r("GET", V + r"/tooling/query/?", "tooling/query")(self.tooling_query)
        self.admin_route("GET", r"/records/(?P<type>\w+)/?")(self.admin_records)
        self.admin_route("POST", r"/convert-lead/?")(self.admin_convert_lead)
        self.admin_route("POST", r"/load/(?P<type>\w+)/?")(self.admin_load)
