{#- Small cross-warehouse helpers (DuckDB by default, Snowflake in production). -#}

{#- A string literal. Values come from vars, so they are escaped, never pasted. -#}
{% macro sql_string(value) %}
    {{ return(adapter.dispatch('sql_string', 'writeback')(value)) }}
{% endmacro %}

{% macro default__sql_string(value) %}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{% endmacro %}

{#- Snowflake also treats backslash as an escape character inside string literals. -#}
{% macro snowflake__sql_string(value) %}
    {{ return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "''") ~ "'") }}
{% endmacro %}

{% macro regexp_like(expression, pattern) %}
    {{ return(adapter.dispatch('regexp_like', 'writeback')(expression, pattern)) }}
{% endmacro %}

{% macro default__regexp_like(expression, pattern) %}
    {{ return('regexp_like(' ~ expression ~ ', ' ~ sql_string(pattern) ~ ')') }}
{% endmacro %}

{% macro duckdb__regexp_like(expression, pattern) %}
    {{ return('regexp_full_match(' ~ expression ~ ', ' ~ sql_string(pattern) ~ ')') }}
{% endmacro %}

{#-
    Text without surrounding whitespace (spaces, tabs, newlines, non-breaking spaces), null when
    nothing is left. Plain trim() only strips spaces, and pasted emails arrive with tabs.
-#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}, ' ' || chr(9) || chr(10) || chr(13) || chr(160)), '')
{%- endmacro %}

{#-
    A bare, lowercase domain from anything people type for a website or a domain:
    'https://www.Acme.io/path', 'acme.io', 'http://acme.io/', ' ACME.IO:443' all give 'acme.io'.
    Patterns avoid backslashes so they mean the same on DuckDB and Snowflake.
-#}
{% macro normalize_domain(expression) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                regexp_replace(lower({{ clean_text(expression) }}), '^[a-z][a-z0-9+.-]*://', ''),
                '^www[0-9]*[.]', ''
            ),
            '[/?#:].*$', ''
        ),
        ''
    )
{%- endmacro %}

{#- The path of a page URL, without scheme, host, query or fragment: '/pricing'. -#}
{% macro url_path(expression) -%}
    coalesce(
        nullif(
            regexp_replace(
                regexp_replace({{ clean_text(expression) }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*', ''),
                '[?#].*$', ''
            ),
            ''
        ),
        '/'
    )
{%- endmacro %}

{#- The personal_email_domains var as a SQL list body: 'gmail.com', 'yahoo.com', ... -#}
{% macro personal_email_domains() %}
    {% set domains = var('personal_email_domains', []) %}
    {% if domains is string or domains is mapping or domains | length == 0 %}
        {{ exceptions.raise_compiler_error("var personal_email_domains must be a non-empty list of domains") }}
    {% endif %}
    {% set literals = [] %}
    {% for domain in domains %}
        {% do literals.append(sql_string(domain | string | trim | lower)) %}
    {% endfor %}
    {{ return(literals | join(', ')) }}
{% endmacro %}

{#-
    The [min_date, max_date] window of a daily-partitioned run, as a condition on a date column.
    Both bounds are inclusive ISO dates; a time part (2026-11-01T00:00:00) is ignored.
-#}
{% macro activity_window(column) %}
    {% set bounds = [] %}
    {% for name, op in [('min_date', '>='), ('max_date', '<=')] %}
        {% set value = var(name, none) %}
        {% set text = '' if value is none else value | string | trim %}
        {% if text %}
            {% if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$', text) %}
                {{ exceptions.raise_compiler_error(
                    "var " ~ name ~ " must be an ISO date like 2026-11-20, got '" ~ text ~ "'") }}
            {% endif %}
            {% do bounds.append(column ~ ' ' ~ op ~ ' cast(' ~ sql_string(text[:10]) ~ ' as date)') %}
        {% endif %}
    {% endfor %}
    {{ return(bounds | join(' and ') if bounds else 'true') }}
{% endmacro %}

{#-
    One JSON object per group, as text: {"team_size": "51-200", "use_case": "..."}, values as JSON
    strings (quotes, backslashes and control characters escaped by the warehouse's own JSON
    writer). Keys must be unique and not null within a group. Read it by key: the order of the
    keys is the warehouse's (sorted on DuckDB).
-#}
{% macro json_object_agg(key, value) %}
    {{ return(adapter.dispatch('json_object_agg', 'writeback')(key, value)) }}
{% endmacro %}

{#- Snowflake: OBJECT_AGG builds an OBJECT, TO_JSON prints it. -#}
{% macro default__json_object_agg(key, value) %}
    {{ return('to_json(object_agg(' ~ key ~ ', to_variant(' ~ value ~ ')))') }}
{% endmacro %}

{#- DuckDB: a MAP ordered by key, printed as a JSON object. -#}
{% macro duckdb__json_object_agg(key, value) %}
    {{ return('cast(to_json(map(list(' ~ key ~ ' order by ' ~ key ~ '), list(' ~ value ~ ' order by ' ~ key
              ~ '))) as varchar)') }}
{% endmacro %}

{#- The UTC calendar day of a timestamp with time zone (the sync log's run_at). -#}
{% macro utc_date(expression) %}
    {{ return(adapter.dispatch('utc_date')(expression)) }}
{% endmacro %}

{% macro default__utc_date(expression) -%}
    cast(convert_timezone('UTC', {{ expression }}) as date)
{%- endmacro %}

{% macro duckdb__utc_date(expression) -%}
    cast(timezone('UTC', {{ expression }}) as date)
{%- endmacro %}
