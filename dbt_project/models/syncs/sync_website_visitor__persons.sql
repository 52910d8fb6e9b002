-- website_visitor workflow, persons: every identified person seen on the site, filtered by the
-- website_visitor segment (person rules and the rules of the person's company).

with

persons as (

    select * from {{ ref('int_persons') }}

),

companies as (

    select * from {{ ref('int_companies') }}

),

visitors as (

    select * from persons
    where session_count > 0

),

final as (

    select
        {{ select_sync_columns('person', 'person', {
            'orchestration_ids': 'null',
            'activity_date': 'person.last_seen_at',
        }) }}

    from visitors as person
    left join companies as company on person.company_domain = company.domain
    where {{ workflow_segment('website_visitor', 'person') }}
        and {{ activity_window('cast(person.last_seen_at as date)') }}

)

select * from final
