-- outbound_agent workflow, companies: companies picked by orchestrations with a sync-to-CRM step
-- (company-level outputs that passed the audience step) and the companies of the persons this
-- workflow writes. orchestration_ids lists every orchestration that picked the company or one of
-- its people.

with

companies as (

    select * from {{ ref('int_companies') }}

),

picks as (

    select * from {{ ref('int_outbound_agent__picks') }}
    where company_domain is not null

),

persons as (

    select * from {{ ref('sync_outbound_agent__persons') }}

),

orchestration_lists as (

    select
        company_domain,
        {{ dbt.listagg('orchestration_id', "','", 'order by orchestration_id') }} as orchestration_ids

    from (select distinct company_domain, orchestration_id from picks) as distinct_picks
    group by company_domain

),

latest_picks as (

    select *
    from picks
    qualify row_number() over (partition by company_domain order by produced_at desc, output_id desc) = 1

),

in_window as (

    select company_domain as domain
    from latest_picks
    where {{ activity_window('cast(latest_picks.produced_at as date)') }}

),

linked as (

    select company_domain as domain
    from persons
    where company_domain is not null

),

members as (

    select domain from in_window
    union
    select domain from linked

),

final as (

    select
        {{ select_sync_columns('company', 'company', {
            'intent_signal': 'latest.signal_type',
            'intent_topic': 'latest.topic',
            'intent_signal_at': 'latest.produced_at',
            'orchestration_ids': 'lists.orchestration_ids',
            'activity_date': 'latest.produced_at',
        }) }}

    from companies as company
    inner join members on company.domain = members.domain
    inner join latest_picks as latest on company.domain = latest.company_domain
    inner join orchestration_lists as lists on company.domain = lists.company_domain

)

select * from final
