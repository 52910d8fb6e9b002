{#-
    Use custom schemas verbatim (raw, staging, intermediate, syncs) instead of dbt's default
    <target_schema>_<custom>, so the sync engine and analysts find the models at stable names.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
