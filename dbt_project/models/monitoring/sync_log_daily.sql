{#-
    What the syncs did, per UTC day, workflow, CRM object and action, with the top failure reasons:
    the numbers to watch for a week after a workflow is turned on or a segment is widened.
    `writeback report` prints the same table from the sync log.

    The engine creates writeback.sync_log on the first sync; before that this model is empty
    (same columns) rather than failing the build.
-#}
{%- set log = source('writeback', 'sync_log') -%}
{%- set relation = adapter.get_relation(database=log.database, schema=log.schema, identifier=log.identifier)
    if execute else none -%}

{% if relation is none %}

select
    cast(null as date) as day,
    cast(null as {{ dbt.type_string() }}) as workflow,
    cast(null as {{ dbt.type_string() }}) as crm,
    cast(null as {{ dbt.type_string() }}) as object,
    cast(null as {{ dbt.type_string() }}) as action,
    cast(null as {{ dbt.type_bigint() }}) as records,
    cast(null as {{ dbt.type_bigint() }}) as runs,
    cast(null as {{ dbt.type_string() }}) as top_failure_reasons
where false

{% else %}

with

sync_log as (

    select * from {{ log }}

),

outcomes as (

    select
        {{ utc_date('run_at') }} as day,
        workflow,
        crm,
        object,
        -- a create or update the CRM refused is a failure, as the run summary counts it
        case when action = 'failed' or status = 'failed' then 'failed' else action end as action,
        coalesce(reason, 'error') as reason,
        run_id

    from sync_log

),

counts as (

    select
        day,
        workflow,
        crm,
        object,
        action,
        count(*) as records,
        count(distinct run_id) as runs

    from outcomes
    group by day, workflow, crm, object, action

),

reasons as (

    select
        day,
        workflow,
        crm,
        object,
        reason,
        count(*) as records

    from outcomes
    where action = 'failed'
    group by day, workflow, crm, object, reason

),

ranked as (

    select
        *,
        row_number() over (partition by day, workflow, crm, object order by records desc, reason) as position

    from reasons

),

top_reasons as (

    select
        day,
        workflow,
        crm,
        object,
        {{ dbt.listagg("reason || ' (' || cast(records as " ~ dbt.type_string() ~ ") || ')'", "', '",
            "order by position") }} as top_failure_reasons

    from ranked
    where position <= 3
    group by day, workflow, crm, object

),

final as (

    select
        counts.day,
        counts.workflow,
        counts.crm,
        counts.object,
        counts.action,
        counts.records,
        counts.runs,
        case when counts.action = 'failed' then top_reasons.top_failure_reasons end as top_failure_reasons

    from counts
    left join top_reasons
        on counts.day = top_reasons.day
        and counts.workflow = top_reasons.workflow
        and counts.crm = top_reasons.crm
        and counts.object = top_reasons.object

)

select * from final

{% endif %}
