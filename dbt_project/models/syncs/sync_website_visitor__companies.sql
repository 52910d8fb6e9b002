-- website_visitor workflow, companies: every company seen on the site that passes the
-- website_visitor company rules, plus the company of every person this workflow writes (so each
-- person can be linked to its company even when the company's own last visit is outside the window).

with

companies as (

    select * from {{ ref('int_companies') }}

),

persons as (

    select * from {{ ref('sync_website_visitor__persons') }}

),

visited as (

    select company.domain
    from companies as company
    where company.session_count > 0
        and {{ workflow_segment('website_visitor', 'company') }}
        and {{ activity_window('cast(company.last_seen_at as date)') }}

),

linked as (

    select company_domain as domain
    from persons
    where company_domain is not null

),

members as (

    select domain from visited
    union
    select domain from linked

),

final as (

    select
        {{ select_sync_columns('company', 'company', {
            'orchestration_ids': 'null',
            'activity_date': 'company.last_seen_at',
        }) }}

    from companies as company
    inner join members on company.domain = members.domain

)

select * from final
