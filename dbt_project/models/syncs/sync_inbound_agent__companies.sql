-- inbound_agent workflow, companies: companies whose visitors engaged the chat and that pass the
-- inbound_agent company rules, plus the company of every person this workflow writes.

with

companies as (

    select * from {{ ref('int_companies') }}

),

persons as (

    select * from {{ ref('sync_inbound_agent__persons') }}

),

chatted as (

    select company.domain
    from companies as company
    where company.chat_count > 0
        and {{ workflow_segment('inbound_agent', 'company') }}
        and {{ activity_window('cast(company.last_chat_at as date)') }}

),

linked as (

    select company_domain as domain
    from persons
    where company_domain is not null

),

members as (

    select domain from chatted
    union
    select domain from linked

),

final as (

    select
        {{ select_sync_columns('company', 'company', {
            'orchestration_ids': 'null',
            'activity_date': 'company.last_chat_at',
        }) }}

    from companies as company
    inner join members on company.domain = members.domain

)

select * from final
