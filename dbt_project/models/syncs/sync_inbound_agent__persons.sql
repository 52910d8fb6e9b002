-- inbound_agent workflow, persons: identified visitors who engaged the chat (sent a message or
-- asked for a demo), filtered by the inbound_agent segment.

with

persons as (

    select * from {{ ref('int_persons') }}

),

companies as (

    select * from {{ ref('int_companies') }}

),

chatters as (

    select * from persons
    where chat_count > 0

),

final as (

    select
        {{ select_sync_columns('person', 'person', {
            'orchestration_ids': 'null',
            'activity_date': 'person.last_chat_at',
        }) }}

    from chatters as person
    left join companies as company on person.company_domain = company.domain
    where {{ workflow_segment('inbound_agent', 'person') }}
        and {{ activity_window('cast(person.last_chat_at as date)') }}

)

select * from final
