{#-
    A raw table, for the staging models: `source('raw', table)`.

    In the sample project the seeds load the raw tables into the schema the source points at, but
    dbt does not know that a source is filled by a seed, so a first `dbt build` could create a
    staging view before its table exists. While the seeds feed the source (no raw_schema var, no
    WRITEBACK_RAW_SCHEMA), the staging model therefore also depends on its seed (the documented
    `depends_on` way: a ref that is recorded, not selected from). Pointed at real raw tables, the
    seeds are disabled and only the source remains.
-#}
{% macro raw_source(table) -%}
    {%- if raw_from_seeds() -%}
        {%- do ref(table) -%}
    {%- endif -%}
    {{ source('raw', table) }}
{%- endmacro %}

{#- True while the seeds load the raw tables: neither the raw_schema var nor WRITEBACK_RAW_SCHEMA is set. -#}
{% macro raw_from_seeds() %}
    {{ return((var('raw_schema', none) or env_var('WRITEBACK_RAW_SCHEMA', '')) | trim == '') }}
{% endmacro %}
