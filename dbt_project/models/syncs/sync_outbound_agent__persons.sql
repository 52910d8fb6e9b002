-- outbound_agent workflow, persons: people picked by orchestrations with a sync-to-CRM step that
-- passed that orchestration's audience and people steps. They need not have visited the site.
-- The intent fields are those of the latest pick; orchestration_ids lists every orchestration
-- that picked the person.

with

persons as (

    select * from {{ ref('int_persons') }}

),

picks as (

    select * from {{ ref('int_outbound_agent__picks') }}
    where email is not null

),

orchestration_lists as (

    select
        email,
        {{ dbt.listagg('orchestration_id', "','", 'order by orchestration_id') }} as orchestration_ids

    from (select distinct email, orchestration_id from picks) as distinct_picks
    group by email

),

latest_picks as (

    select *
    from picks
    qualify row_number() over (partition by email order by produced_at desc, output_id desc) = 1

),

final as (

    select
        {{ select_sync_columns('person', 'person', {
            'intent_signal': 'latest.signal_type',
            'intent_topic': 'latest.topic',
            'intent_signal_at': 'latest.produced_at',
            'orchestration_ids': 'lists.orchestration_ids',
            'activity_date': 'latest.produced_at',
        }) }}

    from latest_picks as latest
    inner join persons as person on latest.email = person.email
    inner join orchestration_lists as lists on latest.email = lists.email
    where {{ activity_window('cast(latest.produced_at as date)') }}

)

select * from final
