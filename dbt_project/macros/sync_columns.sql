{#-
    The column contract of the sync models, in order. The three persons models share one list and
    the three companies models another, so the sync engine reads every workflow the same way;
    each model's .yml repeats it with descriptions and dbt enforces both.
-#}
{% macro sync_columns(entity) %}
    {% set engagement = [
        ('first_seen_at', 'timestamp'),
        ('last_seen_at', 'timestamp'),
        ('session_count', 'integer'),
        ('page_view_count', 'integer'),
        ('top_pages', 'varchar'),
        ('last_referrer', 'varchar'),
        ('last_utm_source', 'varchar'),
    ] %}
    {% if entity == 'person' %}
        {{ return([
            ('email', 'varchar'),
            ('first_name', 'varchar'),
            ('last_name', 'varchar'),
            ('title', 'varchar'),
            ('seniority', 'varchar'),
            ('department', 'varchar'),
            ('linkedin_url', 'varchar'),
            ('phone', 'varchar'),
            ('company_domain', 'varchar'),
            ('company_name', 'varchar'),
            ('company_industry', 'varchar'),
            ('company_employee_count', 'integer'),
            ('company_country', 'varchar'),
            ('identification_source', 'varchar'),
        ] + engagement + [
            ('chat_count', 'integer'),
            ('demo_requested', 'boolean'),
            ('chat_use_case', 'varchar'),
            ('chat_answers', 'varchar'),
            ('intent_signal', 'varchar'),
            ('intent_topic', 'varchar'),
            ('intent_signal_at', 'timestamp'),
            ('orchestration_ids', 'varchar'),
            ('activity_date', 'date'),
        ]) }}
    {% elif entity == 'company' %}
        {{ return([
            ('domain', 'varchar'),
            ('name', 'varchar'),
            ('website', 'varchar'),
            ('industry', 'varchar'),
            ('employee_count', 'integer'),
            ('annual_revenue', 'bigint'),
            ('country', 'varchar'),
            ('linkedin_url', 'varchar'),
        ] + engagement + [
            ('visitor_count', 'integer'),
            ('chat_count', 'integer'),
            ('demo_requested', 'boolean'),
            ('intent_signal', 'varchar'),
            ('intent_topic', 'varchar'),
            ('intent_signal_at', 'timestamp'),
            ('orchestration_ids', 'varchar'),
            ('activity_date', 'date'),
        ]) }}
    {% else %}
        {{ exceptions.raise_compiler_error("sync_columns: entity must be 'person' or 'company'") }}
    {% endif %}
{% endmacro %}

{#-
    The contract's select list, each column cast to its declared type. `overrides` maps a column
    to the SQL expression that fills it when it does not come from `relation` (e.g. activity_date).
-#}
{% macro select_sync_columns(entity, relation, overrides={}) -%}
    {%- for name, type in sync_columns(entity) %}
        cast({{ overrides.get(name, relation ~ '.' ~ name) }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
