{#-
    Segments: the rules that choose which records a workflow writes to the CRM.

    Each workflow reads its own var, so overriding one with --vars leaves the others alone:
        segment_website_visitor: {company: [rules], person: [rules]}
        segment_inbound_agent:   {company: [rules], person: [rules]}
        segment_outbound_agent:  {orchestrations: {<id>: {audience: [rules], people: [rules]}}}
    A `segments` var ({<workflow>: <segment>}, unset by default) overrides the workflows it names
    and only those, for the `--vars '{segments: {website_visitor: ...}}'` form.

    A rule is {column, op, value}; rules are AND-ed. A person passes when its person rules and
    its company's rules hold; comparisons with a missing (null) value fail, as in SQL. Text
    compares case-insensitively. Anything unknown fails the build with a message naming the
    workflow, the rule and the allowed values, because a typo that silently dropped a filter
    would flood the CRM.
-#}

{% macro segment_workflows() %}
    {{ return(['website_visitor', 'inbound_agent', 'outbound_agent']) }}
{% endmacro %}

{% macro segment_ops() %}
    {{ return(['=', '!=', '>', '>=', '<', '<=', 'in', 'not in', 'contains', 'is null', 'is not null']) }}
{% endmacro %}

{#- The columns a rule may name, with their kind: what int_persons / int_companies hold. -#}
{% macro segment_columns(entity) %}
    {% set engagement = {
        'session_count': 'number', 'page_view_count': 'number', 'chat_count': 'number',
        'demo_requested': 'boolean', 'first_seen_at': 'timestamp', 'last_seen_at': 'timestamp',
        'intent_signal': 'text', 'intent_topic': 'text',
    } %}
    {% if entity == 'person' %}
        {% set columns = {
            'email': 'text', 'email_domain': 'text', 'is_personal_email': 'boolean',
            'first_name': 'text', 'last_name': 'text', 'title': 'text', 'seniority': 'text',
            'department': 'text', 'identification_source': 'text', 'phone': 'text',
            'chat_use_case': 'text',
        } %}
    {% elif entity == 'company' %}
        {% set columns = {
            'domain': 'text', 'name': 'text', 'industry': 'text', 'country': 'text',
            'employee_count': 'number', 'annual_revenue': 'number', 'visitor_count': 'number',
        } %}
    {% else %}
        {{ exceptions.raise_compiler_error("segment entity must be 'person' or 'company', got '" ~ entity ~ "'") }}
    {% endif %}
    {% do columns.update(engagement) %}
    {{ return(columns) }}
{% endmacro %}

{% macro segment_fail(where, message) %}
    {{ exceptions.raise_compiler_error("Segment error in " ~ where ~ ": " ~ message) }}
{% endmacro %}

{% macro segment_is_list(value) %}
    {{ return(value is iterable and value is not string and value is not mapping) }}
{% endmacro %}

{#- The segment of one workflow: `segments.<workflow>` when given, else `segment_<workflow>`. -#}
{% macro segment_for(workflow) %}
    {% set workflows = segment_workflows() %}
    {% if workflow not in workflows %}
        {{ exceptions.raise_compiler_error(
            "Unknown workflow '" ~ workflow ~ "'. Allowed workflows: " ~ workflows | join(', ')) }}
    {% endif %}
    {% set overrides = var('segments', none) %}
    {% if overrides is none %}{% set overrides = {} %}{% endif %}
    {% if overrides is not mapping %}
        {{ segment_fail("var 'segments'", "must map workflows to segments. Allowed workflows: "
            ~ workflows | join(', ')) }}
    {% endif %}
    {% for key in overrides %}
        {% if key not in workflows %}
            {{ segment_fail("var 'segments'", "unknown workflow '" ~ key ~ "'. Allowed workflows: "
                ~ workflows | join(', ')) }}
        {% endif %}
    {% endfor %}
    {% set segment = overrides[workflow] if workflow in overrides else var('segment_' ~ workflow, none) %}
    {% if segment is none %}{% set segment = {} %}{% endif %}
    {% set allowed = ['orchestrations'] if workflow == 'outbound_agent' else ['company', 'person'] %}
    {% if segment is not mapping %}
        {{ segment_fail("workflow '" ~ workflow ~ "'", "the segment must be a mapping with keys "
            ~ allowed | join(', ')) }}
    {% endif %}
    {% for key in segment %}
        {% if key not in allowed %}
            {{ segment_fail("workflow '" ~ workflow ~ "'", "unknown key '" ~ key ~ "'. Allowed keys: "
                ~ allowed | join(', ')) }}
        {% endif %}
    {% endfor %}
    {{ return(segment) }}
{% endmacro %}

{#- One value of a rule as a SQL literal of the column's kind. -#}
{% macro segment_literal(value, kind, where, column) %}
    {% if value is none %}
        {{ segment_fail(where, "needs a value (use op 'is null' to match missing values)") }}
    {% elif kind == 'boolean' %}
        {% if value is not boolean %}
            {{ segment_fail(where, "'" ~ column ~ "' is a boolean column; the value must be true or false") }}
        {% endif %}
        {{ return('true' if value else 'false') }}
    {% elif kind == 'number' %}
        {% if value is boolean or value is not number %}
            {{ segment_fail(where, "'" ~ column ~ "' is a number column; the value must be a number, got '"
                ~ value ~ "'") }}
        {% endif %}
        {{ return(value | string) }}
    {% elif kind == 'timestamp' %}
        {% set text = value | string | trim %}
        {% if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$', text) %}
            {{ segment_fail(where, "'" ~ column ~ "' is a timestamp column; the value must be an ISO date "
                ~ "or timestamp like 2026-11-01 or 2026-11-01 08:00:00, got '" ~ text ~ "'") }}
        {% endif %}
        {{ return('cast(' ~ sql_string(text | replace('T', ' ')) ~ ' as timestamp)') }}
    {% else %}
        {% if value is mapping or segment_is_list(value) or value is boolean %}
            {{ segment_fail(where, "'" ~ column ~ "' is a text column; the value must be a string") }}
        {% endif %}
        {{ return('lower(' ~ sql_string(value) ~ ')') }}
    {% endif %}
{% endmacro %}

{#- One rule as a SQL condition on `alias.column`. -#}
{% macro segment_rule_sql(rule, entity, alias, where) %}
    {% set columns = segment_columns(entity) %}
    {% set ops = segment_ops() %}
    {% if rule is not mapping %}
        {{ segment_fail(where ~ " " ~ rule, "a rule must be a mapping {column: ..., op: ..., value: ...}") }}
    {% endif %}
    {% set where = where ~ " " ~ tojson(rule, rule | string) %}
    {% for key in rule %}
        {% if key not in ['column', 'op', 'value'] %}
            {{ segment_fail(where, "unknown key '" ~ key ~ "'. Allowed keys: column, op, value") }}
        {% endif %}
    {% endfor %}
    {% set column = rule.get('column') %}
    {% if column not in columns %}
        {{ segment_fail(where, "unknown column '" ~ column ~ "'. Allowed " ~ entity ~ " columns: "
            ~ columns.keys() | sort | join(', ')) }}
    {% endif %}
    {% set op = (rule.get('op') | string).lower().split() | join(' ') %}
    {% if op not in ops %}
        {{ segment_fail(where, "unknown op '" ~ rule.get('op') ~ "'. Allowed ops: " ~ ops | join(', ')) }}
    {% endif %}
    {% set kind = columns[column] %}
    {% set expression = alias ~ '.' ~ column %}
    {% set operand = 'lower(' ~ expression ~ ')' if kind == 'text' else expression %}
    {% set value = rule.get('value') %}

    {% if op in ['is null', 'is not null'] %}
        {% if value is not none %}
            {{ segment_fail(where, "op '" ~ op ~ "' takes no value") }}
        {% endif %}
        {{ return('(' ~ expression ~ ' ' ~ op ~ ')') }}
    {% endif %}
    {% if op == 'contains' and kind != 'text' %}
        {{ segment_fail(where, "op 'contains' applies to text columns; '" ~ column ~ "' is a " ~ kind ~ " column") }}
    {% endif %}
    {% if kind == 'boolean' and op not in ['=', '!=', 'in', 'not in'] %}
        {{ segment_fail(where, "'" ~ column ~ "' is a boolean column; allowed ops: =, !=, in, not in") }}
    {% endif %}

    {% if op in ['in', 'not in'] %}
        {% if not segment_is_list(value) or value | length == 0 %}
            {{ segment_fail(where, "op '" ~ op ~ "' needs a non-empty list of values, like [VP, C-level]") }}
        {% endif %}
        {% set literals = [] %}
        {% for item in value %}
            {% do literals.append(segment_literal(item, kind, where, column)) %}
        {% endfor %}
        {{ return('(' ~ operand ~ ' ' ~ op ~ ' (' ~ literals | join(', ') ~ '))') }}
    {% endif %}

    {% set literal = segment_literal(value, kind, where, column) %}
    {% if op == 'contains' %}
        {{ return('contains(' ~ operand ~ ', ' ~ literal ~ ')') }}
    {% endif %}
    {{ return('(' ~ operand ~ ' ' ~ ('<>' if op == '!=' else op) ~ ' ' ~ literal ~ ')') }}
{% endmacro %}

{#- A list of rules as one AND-ed condition; no rules is `true`. -#}
{% macro segment_rules_sql(rules, entity, alias, where) %}
    {% if rules is none %}{% set rules = [] %}{% endif %}
    {% if not segment_is_list(rules) %}
        {{ segment_fail(where, "must be a list of rules like [{column: ..., op: ..., value: ...}]") }}
    {% endif %}
    {% set conditions = [] %}
    {% for rule in rules %}
        {% do conditions.append(segment_rule_sql(rule, entity, alias, where ~ ", rule " ~ loop.index)) %}
    {% endfor %}
    {{ return('(' ~ conditions | join(' and ') ~ ')' if conditions else 'true') }}
{% endmacro %}

{#-
    The condition a website_visitor / inbound_agent record must meet. Persons are checked against
    their person rules and their company's rules (alias `company`, null when unknown); companies
    against the company rules. Both rule lists are validated whatever the entity.
-#}
{% macro workflow_segment(workflow, entity, person_alias='person', company_alias='company') %}
    {% set segment = segment_for(workflow) %}
    {% set company = segment_rules_sql(segment.get('company'), 'company', company_alias,
        "workflow '" ~ workflow ~ "', company rules") %}
    {% set person = segment_rules_sql(segment.get('person'), 'person', person_alias,
        "workflow '" ~ workflow ~ "', person rules") %}
    {{ return(company ~ ' and ' ~ person if entity == 'person' else company) }}
{% endmacro %}

{#-
    The condition an orchestration output must meet to be written by the outbound_agent workflow:
    its orchestration's audience rules (on the company) and, for persons, its people rules.
    Orchestrations without an entry pass everything they picked.
-#}
{% macro outbound_segment(entity, orchestration_column, person_alias='person', company_alias='company') %}
    {% set segment = segment_for('outbound_agent') %}
    {% set orchestrations = segment.get('orchestrations') %}
    {% if orchestrations is none %}{% set orchestrations = {} %}{% endif %}
    {% if orchestrations is not mapping %}
        {{ segment_fail("workflow 'outbound_agent'", "orchestrations must map orchestration ids to "
            ~ "{audience: [rules], people: [rules]}") }}
    {% endif %}
    {% set branches = [] %}
    {% for orchestration_id, steps in orchestrations.items() %}
        {% set where = "workflow 'outbound_agent', orchestration '" ~ orchestration_id ~ "'" %}
        {% if steps is none %}{% set steps = {} %}{% endif %}
        {% if steps is not mapping %}
            {{ segment_fail(where, "must be a mapping with keys audience, people") }}
        {% endif %}
        {% for key in steps %}
            {% if key not in ['audience', 'people'] %}
                {{ segment_fail(where, "unknown step '" ~ key ~ "'. Allowed steps: audience, people") }}
            {% endif %}
        {% endfor %}
        {% set audience = segment_rules_sql(steps.get('audience'), 'company', company_alias,
            where ~ ", audience step") %}
        {% set people = segment_rules_sql(steps.get('people'), 'person', person_alias, where ~ ", people step") %}
        {% set condition = audience ~ ' and ' ~ people if entity == 'person' else audience %}
        {% do branches.append('when ' ~ sql_string(orchestration_id) ~ ' then ' ~ condition) %}
    {% endfor %}
    {{ return('case ' ~ orchestration_column ~ ' ' ~ branches | join(' ') ~ ' else true end' if branches else 'true') }}
{% endmacro %}
