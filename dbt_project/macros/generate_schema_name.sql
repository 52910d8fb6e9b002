{#-
    Target-aware schema names, the pattern dbt recommends. A production target (var
    production_targets: `prod`, and the local DuckDB file, which belongs to whoever runs it) writes
    the custom schemas verbatim (raw, staging, intermediate, syncs, monitoring), so the sync engine
    and analysts find the models at stable names. Any other target prefixes them with its own
    schema (`dbt_alice_syncs`), so a development run on a shared warehouse never overwrites the
    schemas production syncs read. The sync engine reads WRITEBACK_SYNC_SCHEMA when it is not `syncs`;
    Dagster takes it from the manifest.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name in var('production_targets') -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
